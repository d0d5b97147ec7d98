import { getRecipeSettings } from "../lib/app/recipes/settings";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** GET /recipe_settings (query recipe_id): a recipe's area rule and mm_per_px lock. */
export const handler = httpRoute(routes.getRecipeSettings, services.edge, (input, ctx) => getRecipeSettings(services, input, ctx));

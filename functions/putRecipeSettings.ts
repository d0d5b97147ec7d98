import { putRecipeSettings } from "../lib/app/recipes/settings";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** PUT /recipe_settings (application/json): change a recipe's area rule or clear its mm_per_px lock. */
export const handler = httpRoute(routes.putRecipeSettings, services.edge, (input, ctx) => putRecipeSettings(services, input, ctx));

import { listDataset } from "../lib/app/datasets/browse";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** GET /datasets/list: the files of a ROI's dataset, per label. */
export const handler = httpRoute(routes.datasetsList, services.edge, (input, ctx) => listDataset(services, input, ctx));

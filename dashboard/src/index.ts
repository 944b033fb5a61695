export { createDashboard, type DashboardHandler, type DashboardOptions } from "./dashboard.ts";
export { type ServedDashboard, type ServeOptions, serveDashboard } from "./serve.ts";

export { PrometheusMetrics, NoopMetrics, type IMetrics, type SyncDirection } from './metrics';
export { startMetricsServer, type MetricsServer } from './metrics-server';

export { createKubernetesRuntime, type KubernetesRuntimeOptions } from './kube-runtime.js';
export { buildDeployment, buildService, deploymentName, serviceName } from './manifests.js';
export { connectCluster, type ClusterConnection } from './connect.js';

export { createKubernetesRuntime, type KubernetesRuntime, type KubernetesRuntimeOptions } from './kube-runtime.js';
export { clusterModeOptions, defaultLeaseNamespace, leaseIdentity, type ClusterModeOptions, type LeaseSettings } from './control-plane.js';
export { LeaderElector, type LeaderElectorOptions } from './leader.js';
export { buildDeployment, buildService, deploymentName, serviceName } from './manifests.js';
export { connectCluster, type ClusterConnection } from './connect.js';
export { createApiServerClient } from './apiserver-client.js';

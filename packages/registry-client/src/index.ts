// TODO(#4): MLflow REST client and local registry — remove this placeholder when F3 lands.
export const REGISTRY_CLIENT_PENDING = true;

/** Version of @streamflow/core written into model files; a unit test keeps it equal to package.json's. */
export const TOOLKIT_VERSION = "0.1.0";

// The docs page's Swagger UI files, imported as text: esbuild's text loader bundles them as
// strings (the TEXT_ASSETS plugin in local/esbuild.config.cjs; local/test/setup.ts does the same
// for ts-node). swagger-ui-dist ships no types.
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const text: string;
  export default text;
}
declare module 'swagger-ui-dist/swagger-ui.css' {
  const text: string;
  export default text;
}

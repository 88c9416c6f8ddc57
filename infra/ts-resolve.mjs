// Lets Node run the TypeScript sources directly (`node --import ./infra/ts-resolve.mjs infra/app.ts`):
// Node strips the types itself, and this hook maps the `.js` specifiers that
// the sources use (tsconfig's NodeNext convention) to the `.ts` files beside
// them. Only relative specifiers that do not resolve as written are mapped.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      const relative = specifier.startsWith("./") || specifier.startsWith("../");
      if (!relative || !specifier.endsWith(".js") || error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
  },
});

// The one zod every schema is written with: zod/mini, its functional API, so that a bundle
// carries only the validators it uses (see docs/libraries.md).
// zod/mini ships no messages of its own: the English locale is set here, where every schema
// module gets its z, so an error reads the same wherever it is raised. (Imported by its own path:
// the `locales` namespace would bring every language into each bundle.)
import { config } from 'zod/mini';
import english from 'zod/v4/locales/en.js';

config(english());

export * from 'zod/mini';

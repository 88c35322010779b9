import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// Fastify compiles every route's request schemas with Ajv when the app becomes ready: loading
// Ajv and generating the validators was ~100 ms of a worker's ~500 ms from fork to ready
// (--cpu-prof). `npm run build` runs the same compiler once (scripts/compile-validators.js, through
// @fastify/ajv-compiler's standalone mode) and writes each validator's code to dist/http/validators/;
// a worker then only loads those small files. A validator is used only if its schema, Fastify's
// Ajv options and shared schemas hash as they did at build time; otherwise (a schema edited
// without rebuilding, a dist/ built by tsc alone) the route's validator is compiled as before,
// with Fastify's own compiler: slower to start, never different in what it accepts.

/** What Fastify asks a validator compiler for (one request part of one route). */
export interface ValidatorRequest {
  schema: unknown;
  method: string | string[];
  url: string;
  httpPart?: string;
  contentType?: string;
}
export type Validate = ((data: unknown) => boolean | Promise<unknown>) & { errors?: unknown };
export type ValidatorCompiler = (request: ValidatorRequest) => Validate;
/** Fastify's `schemaController.compilersFactory.buildValidator`. */
export type ValidatorFactory = (externalSchemas: unknown, ajvOptions: unknown) => ValidatorCompiler;

export interface ValidatorStats {
  /** Validators loaded from the build's files. */
  precompiled: number;
  /** Validators compiled at start because no file matched. */
  compiled: number;
}

interface Entry {
  key: string;
  hash: string;
  file: string;
}

export const VALIDATORS_DIR = new URL('./validators/', import.meta.url);
const require = createRequire(import.meta.url);
// Fastify's compilers as Fastify itself would load them (its dependencies, in its version)
const fastifyRequire = createRequire(require.resolve('fastify'));

export function validatorKey(request: ValidatorRequest): string {
  const method = Array.isArray(request.method) ? request.method.join(',') : request.method;
  return [method, request.url, request.httpPart, request.contentType].filter(Boolean).join(' ');
}

// The compiler's own defaults and code generation come with its version: a dist/ built against one
// Fastify, ajv-compiler or Ajv is not used under another.
let compilerVersions: string | undefined;
function versions(): string {
  if (compilerVersions === undefined) {
    // the manifests read, not require()d, and only they resolved: the compiler is not loaded for this
    const manifest = (from: NodeJS.Require, name: string) => from.resolve(`${name}/package.json`);
    const version = (from: NodeJS.Require, name: string) => (JSON.parse(readFileSync(manifest(from, name), 'utf8')) as { version: string }).version;
    const compilerRequire = createRequire(manifest(fastifyRequire, '@fastify/ajv-compiler'));
    compilerVersions = [version(fastifyRequire, 'fastify'), version(fastifyRequire, '@fastify/ajv-compiler'), version(compilerRequire, 'ajv')].join(' ');
  }
  return compilerVersions;
}

export function validatorHash(request: ValidatorRequest, externalSchemas: unknown, ajvOptions: unknown): string {
  return createHash('sha256').update(JSON.stringify([request.schema, externalSchemas ?? null, ajvOptions ?? null, versions()])).digest('hex');
}

/**
 * Fastify lower-cases the property names of a headers schema (Node's header names are) only when
 * it compiles with its own compiler; with ours a `Idempotency-Key` property would never match and
 * its checks would silently not run. Refused at build and at start instead.
 */
function checkHeaderNames(request: ValidatorRequest): void {
  if (request.httpPart !== 'headers') return;
  const properties = (request.schema as { properties?: Record<string, unknown> } | null)?.properties ?? {};
  const required = (request.schema as { required?: unknown } | null)?.required;
  const names = [...Object.keys(properties), ...(Array.isArray(required) ? (required as string[]) : [])];
  const upper = names.find((name) => name !== name.toLowerCase());
  if (upper !== undefined) throw new Error(`the headers schema of ${validatorKey(request)} names \`${upper}\`: write header names in lower case, as Node.js gives them`);
}

function readIndex(dir: URL): Map<string, Entry> {
  try {
    const entries = JSON.parse(readFileSync(new URL('index.json', dir), 'utf8')) as Entry[];
    return new Map(entries.map((entry) => [entry.key, entry]));
  } catch {
    return new Map();
  }
}

/** Fastify's default compiler (Ajv at start), loaded only when a validator has to be compiled. */
export const fastifyValidators: ValidatorFactory = (externalSchemas, ajvOptions) => {
  const build = fastifyRequire('@fastify/ajv-compiler') as () => ValidatorFactory;
  return build()(externalSchemas, ajvOptions);
};

/** The build's file for `request`, if there is one that matches; undefined otherwise. */
function load(index: Map<string, Entry>, dir: URL, request: ValidatorRequest, hash: string): Validate | undefined {
  const entry = index.get(validatorKey(request));
  if (!entry || entry.hash !== hash) return undefined;
  try {
    // a file named by its hash: an index of another build cannot load another route's code
    return require(fileURLToPath(new URL(entry.file, dir))) as Validate;
  } catch {
    return undefined; // removed by a build running now, or damaged
  }
}

/**
 * The build's validators where they match, Fastify's compiler for the rest; `stats` counts both,
 * `onCompile` hears of each one compiled (the worker logs it once: a start slower than it needs).
 */
export function precompiledValidators(
  stats: ValidatorStats = { precompiled: 0, compiled: 0 },
  dir: URL = VALIDATORS_DIR,
  onCompile: (key: string) => void = () => {},
): ValidatorFactory {
  return (externalSchemas, ajvOptions) => {
    const index = readIndex(dir);
    let fallback: ValidatorCompiler | undefined;
    return (request) => {
      checkHeaderNames(request);
      const validate = load(index, dir, request, validatorHash(request, externalSchemas, ajvOptions));
      if (validate) {
        stats.precompiled++;
        return validate;
      }
      stats.compiled++;
      onCompile(validatorKey(request));
      fallback ??= fastifyValidators(externalSchemas, ajvOptions);
      return fallback(request);
    };
  };
}

/** Build time: Fastify's compiler in standalone mode; each validator's source goes to `store`. */
export function recordingValidators(store: (entry: { key: string; hash: string; code: string }) => void): ValidatorFactory {
  const { StandaloneValidator } = fastifyRequire('@fastify/ajv-compiler') as {
    StandaloneValidator: (options: { readMode: false; storeFunction: (request: ValidatorRequest, code: string) => void }) => ValidatorFactory;
  };
  return (externalSchemas, ajvOptions) => {
    let hash = '';
    // a copy: the standalone wrapper adds its `code` option to the options object it is given,
    // which must stay as Fastify has it (and as it is hashed at run time)
    const compile = StandaloneValidator({
      readMode: false,
      storeFunction: (request, code) => store({ key: validatorKey(request), hash, code }),
    })(externalSchemas, { ...(ajvOptions as object) });
    return (request) => {
      checkHeaderNames(request);
      hash = validatorHash(request, externalSchemas, ajvOptions);
      return compile(request);
    };
  };
}

export type SerializerFactory = (externalSchemas: unknown, options: unknown) => (request: ValidatorRequest & { code?: string }) => (data: unknown) => string;

/**
 * Fastify loads its serializer compiler (fast-json-stringify, and Ajv with it: ~50 ms) when the
 * app is made, whether or not a route has a response schema. None of ours has: it is loaded only
 * if one is ever compiled.
 */
export function lazySerializers(): SerializerFactory {
  return (externalSchemas, options) => {
    let compile: ReturnType<SerializerFactory> | undefined;
    return (request) => {
      compile ??= (fastifyRequire('@fastify/fast-json-stringify-compiler') as () => SerializerFactory)()(externalSchemas, options);
      return compile(request);
    };
  };
}

import type { Upstream } from './options.js';

export interface NginxOptions {
  upstreams: Upstream[];
  /** nginx's listen argument: `80`, `127.0.0.1:8080`. @default '80' */
  listen: string;
  /** @default '_' */
  serverName: string;
  /** The hosts' body limit (Settings.bodyLimit). */
  bodyLimit: number;
  /** The larger limit of the one route that takes PowerPoint uploads (PPTX_LIMITS.fileBytes). */
  uploadLimit: number;
  /** A whole nginx.conf instead of a conf.d snippet. */
  full: boolean;
  /** With `full`: pid, logs and temp files under this dir (nginx run by a user, or a test). */
  prefix: string | undefined;
  /** The command line that made it, for the header. */
  command: string;
}

// Fastify closes an idle keep-alive connection after 72 s; nginx must drop its end first, or a
// request can go out on a connection the host is closing at that instant (a 502 for a POST).
const UPSTREAM_KEEPALIVE_S = 60;
// Room for the multipart framing around an uploaded file.
const MULTIPART_OVERHEAD = 64 * 1024;

const mib = (n: number): string => (n % (1024 * 1024) === 0 ? `${n / 1024 / 1024} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`);
const nginxSize = (n: number): string => (n % (1024 * 1024) === 0 ? `${n / 1024 / 1024}m` : n % 1024 === 0 ? `${n / 1024}k` : String(n));
const indent = (text: string, by: string): string => text.split('\n').map((l) => (l === '' ? l : by + l)).join('\n');

export function renderServer(o: NginxOptions): string {
  const servers = o.upstreams.map((u) => `    server ${u.address} max_fails=3 fail_timeout=10s;`).join('\n');
  const tries = Math.min(o.upstreams.length, 3);
  const upload = Math.max(o.bodyLimit, o.uploadLimit + MULTIPART_OVERHEAD);
  return `# Every host must believe this proxy's X-Forwarded-For, and no one else's. Start each one with
#   presenter-serve serve --trust-proxy <this nginx's address, as that host sees it>
# (or PRESENTER_TRUST_PROXY). Without it the hosts see nginx as the only client (one rate limit
# for everybody, nginx's address in every log line); trusting more than nginx would let any
# client choose its own address. The hosts share one database (PRESENTER_DATABASE_URL): any
# host can answer any request, so no sticky sessions are needed.

upstream presenter_serve {
    # Passive health checks: 3 failed attempts within 10 s take a host out for 10 s, then nginx
    # tries it again. (With a single host nginx never takes it out.)
${servers}

    # Idle connections to the hosts kept open by each nginx worker: no TCP handshake per request.
    keepalive 32;
    # Shorter than the hosts' own idle timeout (Fastify's 72 s), so nginx closes first and never
    # sends a request on a connection the host is closing.
    keepalive_timeout ${UPSTREAM_KEEPALIVE_S}s;
    keepalive_requests 1000;
}

# Which bodies may be as large as a PowerPoint file: a .pptx body, or the page's upload.
map $content_type $presenter_serve_upload {
    default 0;
    "~*^application/vnd\\.openxmlformats-officedocument\\.presentationml\\.presentation" 1;
    "~*^multipart/form-data" 1;
}

# Which POSTs nginx may send again: those to /api/presentations with an Idempotency-Key.
map "$request_method:$http_idempotency_key" $presenter_serve_after_502 {
    default @unavailable;
    "~^POST:." @resend;
}
map "$request_method:$http_idempotency_key" $presenter_serve_after_504 {
    default @timed_out;
    "~^POST:." @resend;
}

server {
    listen ${o.listen};
    server_name ${o.serverName};

    # The hosts' own body limit (PRESENTER_BODY_LIMIT, ${mib(o.bodyLimit)}): a larger body gets 413 here,
    # before it costs a host anything. nginx reads the whole body before it picks a host
    # (proxy_request_buffering, on by default), so a slow client ties up no host, and a request
    # that must go to a second host can be sent again.
    client_max_body_size ${nginxSize(o.bodyLimit)};

    # Keep-alive to the hosts needs HTTP/1.1 and no "Connection: close" passed on from clients.
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    # The client's address, appended to what it sent: the hosts take the last address that
    # is not a trusted proxy (--trust-proxy), so a forged header names nobody.
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;

    # A host that does not accept a connection in 3 s is down (on a LAN it takes milliseconds):
    # fail fast and let the next one answer. The API answers at once (feedback is generated in
    # background jobs), and a .pptx is read within seconds, so 30 s of silence is a hung host.
    proxy_connect_timeout 3s;
    proxy_send_timeout 30s;
    proxy_read_timeout 30s;

    # When a host fails, try the next one: for GET, HEAD, PUT, DELETE and OPTIONS only. Without
    # \`non_idempotent\` nginx never sends a POST or PATCH again once it went out to a host (it
    # may have been done there): the POST answers 502, and the client decides. A POST is passed
    # on only when no host took it (connection refused or timed out), which is safe.
    #
    # Not retried on another host, on purpose:
    # - 503: the hosts' 503s (QUEUE_FULL, STORE_UNAVAILABLE, STORAGE_FULL) are about the shared
    #   queue or database, so another host would say the same; they reach the client with their
    #   Retry-After. Listed here, they would also count as failures and take healthy hosts out.
    # A POST /api/presentations with an Idempotency-Key is the exception: sent again, it returns
    # the same talk (the hosts share the store), so @resend below sends it to another host.
    # At most 3 hosts per request, within 35 s: a request never walks a long list of dead hosts.
    proxy_next_upstream error timeout http_502 http_504;
    proxy_next_upstream_tries ${tries};
    proxy_next_upstream_timeout 35s;

    # Errors nginx gives itself, in the API's error shape ({"error": {"code", "message"}}).
    # The hosts' own error answers pass through untouched (proxy_intercept_errors is off).
    error_page 413 = @body_too_large;
    error_page 502 = @unavailable;
    error_page 504 = @timed_out;

    location / {
        proxy_pass http://presenter_serve;
    }

    # The one route that takes a PowerPoint file accepts up to ${mib(o.uploadLimit)} plus the multipart
    # framing, but only for a .pptx body or the page's upload: any other body goes on to the
    # location below, with the hosts' limit, so a large JSON or Markdown body gets its 413 from
    # nginx too. (Left to the host, it would answer 413 at once and close the connection while
    # nginx still sends the body: the client would get a 502, and the host a failure mark.)
    # nginx checks Content-Length against the location it first finds: hence the larger limit
    # here and the smaller one behind the rewrite.
    location = /api/presentations {
        client_max_body_size ${nginxSize(upload)};
        if ($presenter_serve_upload = 0) {
            rewrite ^ /__presenter_serve_create last;
        }
        proxy_pass http://presenter_serve;
        # (an error_page here replaces all of the server's: the three are repeated)
        error_page 413 = @body_too_large;
        error_page 502 = $presenter_serve_after_502;
        error_page 504 = $presenter_serve_after_504;
    }

    location = /__presenter_serve_create {
        internal;
        rewrite ^ /api/presentations break;
        proxy_pass http://presenter_serve;
        error_page 413 = @body_too_large;
        error_page 502 = $presenter_serve_after_502;
        error_page 504 = $presenter_serve_after_504;
    }

    # A POST /api/presentations with an Idempotency-Key that failed after it went out to a host
    # (the connection broke, or no answer in time): the host may have stored the talk, or not.
    # Sent again with the same key, the shared store answers with the same talk either way, so
    # it is safe to send it to another host (non_idempotent: nginx's rule for POST does not
    # know the key). proxy_next_upstream takes no variables, hence this second location; a named
    # location keeps the method, the URI and the body nginx has buffered.
    location @resend {
        proxy_pass http://presenter_serve;
        proxy_next_upstream error timeout http_502 http_504 non_idempotent;
        recursive_error_pages on;
        error_page 502 = @unavailable;
        error_page 504 = @timed_out;
    }

    location @body_too_large {
        default_type application/json;
        return 413 '{"error":{"code":"BODY_TOO_LARGE","message":"the request body is larger than this proxy accepts: ${o.bodyLimit} bytes, ${upload} for a PowerPoint upload"}}\\n';
    }

    location @unavailable {
        default_type application/json;
        add_header Retry-After 5 always;
        return 502 '{"error":{"code":"UPSTREAM_UNAVAILABLE","message":"no host of the service answered; try again in a few seconds"}}\\n';
    }

    location @timed_out {
        default_type application/json;
        add_header Retry-After 5 always;
        return 504 '{"error":{"code":"UPSTREAM_TIMEOUT","message":"no host of the service answered in time; try again in a few seconds"}}\\n';
    }
}
`;
}

export function renderConfig(o: NginxOptions): string {
  const header = `# presenter-serve behind nginx. Made by: ${o.command}\n`;
  if (!o.full) {
    return `${header}# Put it in /etc/nginx/conf.d/presenter-serve.conf (it goes inside nginx's http {}), check it
# with \`nginx -t\`, then load it with \`nginx -s reload\`.
#
${renderServer(o)}`;
  }
  const p = o.prefix;
  const paths = p === undefined
    ? { pid: '/run/nginx.pid', error: '/var/log/nginx/error.log', access: '/var/log/nginx/access.log' }
    : { pid: `${p}/nginx.pid`, error: `${p}/error.log`, access: `${p}/access.log` };
  const temps = p === undefined
    ? ''
    : `    # Temp files under the prefix too: nginx's built-in ones are root's. (Started as root, nginx
    # runs its workers as nobody: they must be able to enter ${p}.)
${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${p}/${t}_temp;`).join('\n')}
`;
  return `${header}# A complete nginx.conf: check it with \`nginx -t -c FILE\`, run it with \`nginx -c FILE\`.
#
worker_processes auto;
pid ${paths.pid};
error_log ${paths.error} warn;

events {
    worker_connections 1024;
}

http {
    access_log ${paths.access};
${temps}    # No nginx version in error pages and headers.
    server_tokens off;

${indent(renderServer(o), '    ')}}
`;
}

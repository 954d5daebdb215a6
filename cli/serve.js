'use strict'
// `sns-logger serve`: the HTTP relay until SIGTERM or SIGINT.

const { parse, whole, readConfig } = require('./common.js')

const SERVE_USAGE = `Usage: sns-logger serve [flags]

Runs the relay until SIGTERM or SIGINT, then drains: /readyz and new requests get 503 (with
Connection: close), requests in flight finish, idle and slow connections close, and the logger
flushes for what is left of --shutdown-timeout-ms (what it cannot send goes to the spool).
A second signal exits at once (events in memory are spooled).

Flags (each also read from its environment variable; a flag wins):
  --config FILE             a JSON file of serve() options: the flags below in camelCase
                            (port, widgetOrigins, ...) and "logger" with init() options
                            (siteUrl, dfConfig, spoolDir, retryBudgetMs, ...); flags win
  --port N                  public port (SNS_LOGGER_PORT; default 8787; 0 picks a free one)
  --host IP                 public address (SNS_LOGGER_HOST; default 127.0.0.1)
  --admin-port N            port of /metrics (SNS_LOGGER_ADMIN_PORT; default 8788)
  --admin-host IP           address of /metrics (SNS_LOGGER_ADMIN_HOST; default 127.0.0.1)
  --tokens FILE             JSON file mapping a source to its tokens, such as
                            {"SF.app": ["<token>"], "DF.app": ["<token>", "<next token>"]}
                            (SNS_LOGGER_TOKENS; without it every /v1/batch request gets 401)
  --widget-origin ORIGIN    a site allowed to post widget events to /v1/w, such as
                            https://www.example.com; repeat for more (SNS_LOGGER_WIDGET_ORIGINS,
                            comma-separated; without it every /v1/w request gets 403)
  --widget-rate N           widget requests per second per client address, burst 2N
                            (SNS_LOGGER_WIDGET_RATE; default 10)
  --shutdown-timeout-ms N   how long draining and the final flush may take
                            (SNS_LOGGER_SHUTDOWN_TIMEOUT_MS; default 10000)
  --body-timeout-ms N       how long a request body may take to arrive before 408
                            (SNS_LOGGER_BODY_TIMEOUT_MS; default 10000)
  --header-timeout-ms N     how long a request head may take from its first byte to its end;
                            a slower one has its connection closed
                            (SNS_LOGGER_HEADER_TIMEOUT_MS; default 10000)
  --idle-timeout-ms N       how long a connection may stay quiet between requests (or before
                            its first) before it is closed (SNS_LOGGER_IDLE_TIMEOUT_MS;
                            default 60000)
  --max-connections N       connections served at once on each listener; past it a new one
                            waits to be accepted until another closes
                            (SNS_LOGGER_MAX_CONNECTIONS; default 4096)
  --trust-forwarded-for     behind a proxy: rate-limit by the address the proxy appends to
                            X-Forwarded-For (SNS_LOGGER_TRUST_FORWARDED_FOR=true)
  --ack MODE                when a request gets 200 (SNS_LOGGER_ACK):
                              spooled    its events are in the spool, the write-ahead log
                                         (default with a spool directory)
                              published  SNS accepted every event (else 503 after
                                         --publish-timeout-ms); keeps nothing on disk
                              queued     its events are queued in memory (a crash loses them)
  --fsync MODE              none (default): spool writes reach the file (safe from a crash);
                            commit: flushed to stable storage too (safe from power loss)
                            (SNS_LOGGER_FSYNC)
  --max-spool-bytes N       the most bytes of events the spool holds; past it 503
                            (the logger's maxSpoolBytes; default 4 GiB)
  --publish-timeout-ms N    --ack published: how long a request waits for SNS before 503
                            (SNS_LOGGER_PUBLISH_TIMEOUT_MS; default 4000)
  -h, --help                this text

The relay's logger is configured as init() is, from the environment:
  SNS_LOGGER_SITE_URL       the Rocket.Chat site URL (MessageGroupId), required
  SNS_LOGGER_DF_CONFIG      path to df_config.json (agents and their SNS topics), required
  SNS_LOGGER_SPOOL_DIR      where unsent events wait on disk (default ./.sns-logger)
  SNS_LOGGER_SINK           sns (default), file:PATH or memory
  SNS_LOGGER_PLAN_EXTENSION path to a tracking-plan extension
  AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ... (the AWS default chain), AWS_ENDPOINT_URL_SNS

Endpoints: POST /v1/batch (Authorization: Bearer <token>), POST /v1/w (widget, Origin),
GET /healthz, GET /readyz; GET /metrics on the admin listener.
`

function serveCommand(argv) {
  const { values } = parse(argv, {
    config: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'admin-port': { type: 'string' },
    'admin-host': { type: 'string' },
    tokens: { type: 'string' },
    'widget-origin': { type: 'string', multiple: true },
    'widget-rate': { type: 'string' },
    'shutdown-timeout-ms': { type: 'string' },
    'body-timeout-ms': { type: 'string' },
    'header-timeout-ms': { type: 'string' },
    'idle-timeout-ms': { type: 'string' },
    'max-connections': { type: 'string' },
    'trust-forwarded-for': { type: 'boolean' },
    ack: { type: 'string' },
    fsync: { type: 'string' },
    'max-spool-bytes': { type: 'string' },
    'publish-timeout-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    process.stdout.write(SERVE_USAGE)
    return 0
  }
  const options = {
    port: whole(values, 'port'),
    host: values.host,
    adminPort: whole(values, 'admin-port'),
    adminHost: values['admin-host'],
    tokens: values.tokens,
    widgetOrigins: values['widget-origin'],
    widgetRate: whole(values, 'widget-rate'),
    shutdownTimeoutMs: whole(values, 'shutdown-timeout-ms'),
    bodyTimeoutMs: whole(values, 'body-timeout-ms'),
    headerTimeoutMs: whole(values, 'header-timeout-ms'),
    idleTimeoutMs: whole(values, 'idle-timeout-ms'),
    maxConnections: whole(values, 'max-connections'),
    trustForwardedFor: values['trust-forwarded-for'],
    ack: values.ack,
    fsync: values.fsync,
    publishTimeoutMs: whole(values, 'publish-timeout-ms'),
  }
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key]
  const file = values.config === undefined ? {} : readConfig(values.config)

  const { serve } = require('../index.js')
  const say = (line) => process.stderr.write(`sns-logger serve: ${line}\n`)
  const relay = serve({
    ...file,
    ...options,
    logger: {
      ...file.logger,
      ...(values['max-spool-bytes'] === undefined ? {} : { maxSpoolBytes: whole(values, 'max-spool-bytes') }),
      onError: (error) => say(`${error.code}: ${error.message}${error.events ? ` (${error.events} events)` : ''}`),
    },
  })
  process.stdout.write(`sns-logger serve: listening on ${relay.address.url}, metrics on ${relay.adminAddress.url}/metrics\n`)
  for (const warning of relay.warnings) say(`warning: ${warning}`)

  let signals = 0
  const stop = (signal) => {
    signals += 1
    if (signals > 1) {
      say(`${signal} again: exiting now; events in memory go to the spool`)
      process.exit(1)
    }
    say(`${signal}: draining`)
    relay.close().then((report) => {
      say(
        `closed: ${report.sent} sent, ${report.spooled} spooled, ${report.deadLettered} dead-lettered, ` +
          `${report.dropped} dropped; ${report.leftInSpool} left in the spool${report.timedOut ? ' (the shutdown timeout passed)' : ''}`,
      )
      process.exit(0)
    })
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  return null // keeps running
}

module.exports = { serveCommand, SERVE_USAGE }

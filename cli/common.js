'use strict'
// What the commands share: flag parsing, the --config file, coded errors.

const { parseArgs } = require('node:util')

/** Bad flags or arguments: exit 2 with the usage text. */
class UsageError extends Error {}

/** An error with a stable `code`. */
function coded(code, message) {
  return Object.assign(new Error(message), { code })
}

function parse(argv, options, { positionals = false } = {}) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: positionals })
  } catch (error) {
    throw new UsageError(error.message)
  }
}

/** A whole-number flag as a number; the core checks its range. */
function whole(values, flag) {
  const text = values[flag]
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text)) throw new UsageError(`--${flag} "${text}" is not allowed; allowed: a whole number`)
  return Number(text)
}

/** The --config file: an object of options. Its text is never echoed (it may hold tokens). */
function readConfig(path) {
  const { readFileSync } = require('node:fs')
  let config
  try {
    config = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    const why = error instanceof SyntaxError ? 'it is not valid JSON' : error.message
    throw coded('ERR_INVALID_OPTIONS', `--config: cannot read ${JSON.stringify(path)}: ${why}`)
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw coded('ERR_INVALID_OPTIONS', `--config: ${JSON.stringify(path)} must hold an object of options`)
  }
  return config
}

/**
 * The init() options of --config FILE: the file's object, or its "logger" object when it is a
 * serve() configuration. Undefined without --config (the environment alone then).
 */
function loggerOptions(path) {
  if (path === undefined) return undefined
  const config = readConfig(path)
  if (config.logger !== undefined && typeof config.logger === 'object' && config.logger !== null) return config.logger
  return config
}

/**
 * A path as a command shows it (in output and in generated files' headers): relative to where
 * the command ran, with forward slashes on every system.
 */
function shown(path) {
  const { isAbsolute, relative } = require('node:path')
  return (isAbsolute(path) ? relative(process.cwd(), path) || '.' : path).split('\\').join('/')
}

/** The native binding (the operator's functions are not part of the package's API). */
function native() {
  return require('../binding.js')
}

/**
 * The built-in plan, with the additions of --plan-extension FILE when given: checked first by
 * the core's rules (what the relay and init() refuse is refused here, with their message,
 * `ERR_INVALID_PLAN`), then merged in the shape the renderers read.
 */
async function planWithExtension(extensionPath) {
  const plan = require('../plan/tracking-plan.json')
  if (extensionPath === undefined) return plan
  const { existsSync, readFileSync } = require('node:fs')
  if (!existsSync(extensionPath)) {
    throw coded('ERR_INVALID_PLAN', `--plan-extension: cannot read ${JSON.stringify(extensionPath)}: no such file`)
  }
  native().opsCheckPlan(extensionPath)
  const { mergeExtension } = await import('../client/generate.mjs')
  return mergeExtension(plan, JSON.parse(readFileSync(extensionPath, 'utf8')))
}

/** Flags every operator command takes. */
const COMMON_FLAGS = {
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

module.exports = { UsageError, coded, parse, whole, readConfig, loggerOptions, native, shown, planWithExtension, COMMON_FLAGS }

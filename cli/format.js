'use strict'
// Output helpers of the operator's commands: aligned tables, colour only on a TTY (and not with
// NO_COLOR), ages, and a progress line on a TTY. Small enough not to need a dependency.

const colours = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 }

/** Whether `stream` gets colour: a TTY, and NO_COLOR unset. */
function useColour(stream) {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env)
}

/** `paint('red', text)` on a TTY, `text` elsewhere. */
function painter(stream) {
  const on = useColour(stream)
  return (colour, text) => (on ? `\u001b[${colours[colour]}m${text}\u001b[0m` : String(text))
}

/** Visible width of a string (without colour codes). */
function width(text) {
  return String(text).replace(/\u001b\[[0-9;]*m/g, '').length
}

/**
 * An aligned table: `rows` are arrays of cells (strings, possibly coloured); `right` lists the
 * columns aligned to the right (numbers).
 */
function table(header, rows, { right = [] } = {}) {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((row) => width(row[i] ?? ''))))
  return all
    .map((row) =>
      row
        .map((cell, i) => {
          const text = String(cell ?? '')
          const pad = ' '.repeat(widths[i] - width(text))
          if (i === row.length - 1 && !right.includes(i)) return text
          return right.includes(i) ? pad + text : text + pad
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** "3d 4h", "2h 5m", "42s" from milliseconds. */
function age(ms) {
  if (ms === null || ms === undefined) return '-'
  if (ms < 0) return 'in the future'
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

/** "1.2 MiB" from bytes. */
function size(bytes) {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB']
  let value = bytes
  let unit = 'B'
  for (const next of units) {
    if (value < 1024) break
    value /= 1024
    unit = next
  }
  return `${value.toFixed(1)} ${unit}`
}

/** A progress callback drawing "label done/total" on stderr when it is a TTY; `end()` clears it. */
function progress(label) {
  const stream = process.stderr
  if (!stream.isTTY) return { update: undefined, end() {} }
  let shown = false
  let last = 0
  return {
    update({ done, total }) {
      const now = Date.now()
      if (now - last < 100 && done < total) return
      last = now
      shown = true
      const pct = total > 0 ? ` (${Math.floor((done / total) * 100)}%)` : ''
      stream.write(`\r${label} ${done}/${total}${pct}\u001b[K`)
    },
    end() {
      if (shown) stream.write('\r\u001b[K')
    },
  }
}

/** Writes `value` as JSON on stdout (`--json`). */
function printJson(value) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** Lines of problems: "  CODE  message". */
function problemLines(problems, paint) {
  return problems.map((p) => `${paint('red', p.code)}  ${p.file ? `${p.file}: ` : ''}${p.message}`)
}

module.exports = { painter, table, age, size, progress, printJson, problemLines }

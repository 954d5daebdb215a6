// A subclass of one of the engine's abstract bridges in which every abstract method the test host
// does not implement does nothing: for each public `doX` wrapper of the base class (which checks
// the app's permissions, then calls the protected `x`), `x` returns undefined. Subclass the result
// and define only the methods that matter.

/** @template {new (...args: any[]) => object} T @param {T} Base @returns {T} */
export function noop(Base) {
  const Noop = class extends Base {}
  Object.defineProperty(Noop, 'name', { value: `Noop${Base.name}` })
  for (const name of Object.getOwnPropertyNames(Base.prototype)) {
    const match = /^do(_?)(\w)(\w*)$/.exec(name)
    if (!match || typeof Base.prototype[name] !== 'function') continue
    const target = match[1] ? `_${match[2]}${match[3]}` : `${match[2].toLowerCase()}${match[3]}`
    if (!(target in Noop.prototype)) Noop.prototype[target] = function () {}
  }
  return Noop
}

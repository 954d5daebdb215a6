// `npm version <new>` runs this (the package.json `version` script, after `napi version` has
// set npm/<platform>/package.json to the new version): pins the root package's optional
// dependencies on its platform packages to the same version, so that the committed
// package.json names the binaries that will be published with it.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './prepare.mjs'

const path = join(root, 'package.json')
const pkg = JSON.parse(readFileSync(path, 'utf8'))
for (const name of Object.keys(pkg.optionalDependencies ?? {})) {
  if (name.startsWith(`${pkg.name}-`)) pkg.optionalDependencies[name] = pkg.version
}
writeFileSync(path, `${JSON.stringify(pkg, null, 2)}\n`)

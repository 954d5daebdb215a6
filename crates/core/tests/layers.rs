//! The crate-level doc lists the modules in layers; this holds every `crate::` import to that
//! list, so the doc stays true and no import circle comes back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Module name -> layer number, read from the numbered list in lib.rs's doc.
fn documented_layers() -> HashMap<String, usize> {
  let lib = std::fs::read_to_string(Path::new(SOURCE).join("lib.rs")).unwrap();
  let mut layers = HashMap::new();
  let mut layer = 0;
  for line in lib.lines().filter_map(|l| l.strip_prefix("//!")) {
    let line = line.trim_start();
    if let Some((number, _)) = line.split_once(". ") {
      layer = number.parse().unwrap_or(layer);
    }
    if layer == 0 {
      continue;
    }
    for name in line
      .split("[`")
      .skip(1)
      .filter_map(|s| s.split_once("`]"))
      .map(|(n, _)| n)
    {
      layers.insert(name.to_string(), layer);
    }
  }
  layers
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
  if path.is_file() {
    return vec![path.to_path_buf()];
  }
  let mut files = Vec::new();
  for entry in std::fs::read_dir(path).unwrap() {
    files.extend(rust_files(&entry.unwrap().path()));
  }
  files
}

/// The top-level modules a file names as `crate::<module>`, comments left out.
fn imported_modules(file: &Path) -> Vec<String> {
  let text = std::fs::read_to_string(file).unwrap();
  let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
  let mut modules = Vec::new();
  for line in code {
    for rest in line.split("crate::").skip(1) {
      let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
        .collect();
      if !name.is_empty() {
        modules.push(name);
      }
    }
  }
  modules
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
  let layers = documented_layers();
  let mut declared = Vec::new();
  let lib = std::fs::read_to_string(Path::new(SOURCE).join("lib.rs")).unwrap();
  for line in lib.lines().filter_map(|l| l.strip_prefix("pub mod ")) {
    declared.push(line.trim_end_matches(';').to_string());
  }
  let mut missing: Vec<_> = declared
    .iter()
    .filter(|m| !layers.contains_key(*m))
    .collect();
  missing.sort();
  assert!(
    missing.is_empty(),
    "modules not in lib.rs's layer list: {missing:?}"
  );

  let mut wrong = Vec::new();
  for module in &declared {
    let dir = Path::new(SOURCE).join(module);
    let root = if dir.is_dir() {
      dir
    } else {
      Path::new(SOURCE).join(format!("{module}.rs"))
    };
    for file in rust_files(&root) {
      for imported in imported_modules(&file) {
        // Macros exported at the crate root (`crate::settings!`) belong to their own module.
        let Some(&below) = layers.get(&imported) else {
          continue;
        };
        if imported != *module && below >= layers[module] {
          wrong.push(format!(
            "{} (layer {}) imports {imported} (layer {below})",
            file.display(),
            layers[module]
          ));
        }
      }
    }
  }
  assert!(
    wrong.is_empty(),
    "imports against the layer order:\n{}",
    wrong.join("\n")
  );
}

#[test]
fn the_layer_list_is_read() {
  let layers = documented_layers();
  assert_eq!(layers.get("error"), Some(&1));
  assert_eq!(layers.get("ops"), Some(&8));
  assert!(layers.len() >= 12, "{layers:?}");
}

//! Tauri build script: embeds tauri.conf.json, icons and capabilities.

fn main() {
    tauri_build::build();
}

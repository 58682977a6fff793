//! The page's assets are embedded from `web/` (rust-embed), which names each file it finds
//! when the crate is compiled: a file added to `web/` must compile the crate again.

fn main() {
    println!("cargo:rerun-if-changed=web");
}

#!/bin/sh
# Drops what the runtime image never loads from a production node_modules (after
# `npm prune --omit=dev`): onnxruntime-node binaries for other OSes and CPU architectures
# (≈ 250 MiB of its ≈ 290) and the intermediates of the native builds (sources, objects,
# static archives). Only the built `.node` addons and JavaScript stay. Usage: slim-node-modules.sh DIR
set -eu
nm="${1:?usage: slim-node-modules.sh NODE_MODULES_DIR}"
arch="$(node -p process.arch)"

for napi in "$nm"/onnxruntime-node/bin/napi-v*; do
  [ -d "$napi" ] || continue
  for os_dir in "$napi"/*; do
    [ "$(basename "$os_dir")" = linux ] || rm -rf "$os_dir"
  done
  for arch_dir in "$napi"/linux/*; do
    [ -e "$arch_dir" ] || continue
    [ "$(basename "$arch_dir")" = "$arch" ] || rm -rf "$arch_dir"
  done
done

for pkg in better-sqlite3 hnswlib-node; do
  build="$nm/$pkg/build"
  [ -d "$build" ] || continue
  rm -rf "$nm/$pkg/deps" "$nm/$pkg/src" "$build/Release/obj" "$build/Release/obj.target" "$build/Release/.deps" "$build/deps"
  rm -f "$build/Release/"*.a "$build/Release/test_extension.node"
done

#!/usr/bin/env bash
# version.sh — print caamcrypt's version for -X main.version: `git describe`
# of the source tree, or "unknown" outside a git checkout (a Docker build
# context without .git passes VERSION instead).
cd "$(dirname "$0")/../.." || exit 1
git describe --tags --always --dirty 2>/dev/null || echo unknown

"""A tiny third-party module built on avelar_kit (see docs/new-module.md)."""

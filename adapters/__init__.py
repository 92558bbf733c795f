"""One sub-package per external system (client + emulator), plus the shared HTTP, paging and error helpers."""

/*
 * The sandbox's stand-in for a pod's own /etc/hosts (a container sees the one its kubelet writes):
 * a process that opens /etc/hosts itself, as c-ares does (PgBouncer resolves with it), opens the file
 * NSS_WRAPPER_HOSTS names instead. Lookups through glibc go through nss_wrapper already.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *redirected(const char *path) {
  if (path != NULL && strcmp(path, "/etc/hosts") == 0) {
    const char *hosts = getenv("NSS_WRAPPER_HOSTS");
    if (hosts != NULL && hosts[0] != '\0') {
      return hosts;
    }
  }
  return path;
}

typedef FILE *(*fopen_fn)(const char *, const char *);

FILE *fopen(const char *path, const char *mode) {
  static fopen_fn real;
  if (real == NULL) {
    real = (fopen_fn) dlsym(RTLD_NEXT, "fopen");
  }
  return real(redirected(path), mode);
}

FILE *fopen64(const char *path, const char *mode) {
  static fopen_fn real;
  if (real == NULL) {
    real = (fopen_fn) dlsym(RTLD_NEXT, "fopen64");
  }
  return real(redirected(path), mode);
}

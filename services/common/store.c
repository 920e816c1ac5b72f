/* store.c -- the list of Redis function libraries every service loads (see store.h) */
#include "store.h"

#include <stddef.h>

const char *const store_libraries[] = {store_library, store_tiers_library, NULL};

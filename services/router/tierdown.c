/* tierdown.c -- the city router sends county matters down to the county (tierdown.h). */
#include "tierdown.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TIERDOWN_CHECK_MS 1000 /* how often the counties file's time is looked at */

struct tierdown_t {
    char path[512];       /* the counties file */
    tier_peers_t *peers;  /* the counties, their links and place names */
    int64_t checked_ms;   /* monotonic ms of the last look at the file */
};

tierdown_t *tierdown_new(const config_t *cfg, char *err, size_t errcap)
{
    tierdown_t *td;

    err[0] = '\0';
    if (strcmp(cfg->tier_kind, "city") != 0 || cfg->tier_counties[0] == '\0')
        return NULL;
    td = calloc(1, sizeof(*td));
    if (td == NULL || (td->peers = malloc(sizeof(*td->peers))) == NULL) {
        snprintf(err, errcap, "out of memory for the counties file");
        free(td);
        return NULL;
    }
    snprintf(td->path, sizeof(td->path), "%s", cfg->tier_counties);
    if (tier_peers_load(td->path, td->peers, err, errcap) != 0) {
        tierdown_destroy(&td);
        return NULL;
    }
    return td;
}

void tierdown_destroy(tierdown_t **td)
{
    if (td == NULL || *td == NULL)
        return;
    free((*td)->peers);
    free(*td);
    *td = NULL;
}

int tierdown_refresh(tierdown_t *td, int64_t mono_ms, char *err, size_t errcap)
{
    tier_peers_t *p;
    struct stat st;

    if (mono_ms - td->checked_ms < TIERDOWN_CHECK_MS)
        return 0;
    td->checked_ms = mono_ms;
    if (!tier_peers_changed(td->path, td->peers))
        return 0;
    p = malloc(sizeof(*p));
    if (p == NULL) {
        snprintf(err, errcap, "out of memory for the counties file");
        return -1;
    }
    if (tier_peers_load(td->path, p, err, errcap) != 0) {
        free(p);
        if (stat(td->path, &st) == 0)
            td->peers->mtime = st.st_mtim; /* say it once per change */
        return -1;
    }
    free(td->peers);
    td->peers = p;
    return 1;
}

const tier_peer_t *tierdown_match(const tierdown_t *td, const char *address, const char *text,
                                  const char **ret_from)
{
    const tier_peer_t *p = NULL;

    *ret_from = "address";
    if (address != NULL && address[0] != '\0')
        p = tier_peers_match(td->peers, address);
    if (p == NULL && text != NULL) {
        *ret_from = "text";
        p = tier_peers_match(td->peers, text);
    }
    return p != NULL && p->endpoint[0] != '\0' ? p : NULL;
}

int tierdown_append(rds_t *r, const config_t *cfg, const char *ticket, const tier_peer_t *p,
                    const char *from, int64_t now_ms, const char *instance)
{
    json_t *actor = json_pack("{s:s,s:s}", "name", instance, "role", "router");
    char *aj = actor ? json_dumps(actor, JSON_COMPACT) : NULL;
    char now[24], note[160];
    int rc;

    json_decref(actor);
    if (aj == NULL)
        return -ENOMEM;
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(note, sizeof(note), "sent down to county %s: its place name is in the %s",
             p->tier, from);
    const char *argv[] = {cfg->tier, ticket, p->tier, now, aj, note, instance};
    rc = rds_append_fcall(r, "down_dispatch", 7, argv, NULL) == 0 ? 0 : -EIO;
    free(aj);
    return rc;
}

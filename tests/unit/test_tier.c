/* test_tier.c -- tier links: keys, the counties file, place matching, stream ids, and a real
 * CURVE handshake on 127.0.0.1 where the ZAP handler lets in a listed key (naming its tier)
 * and refuses another */
#include "check.h"
#include "tier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static char dir[] = "/tmp/rexian-tier-XXXXXX";

static void put(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_ids(void)
{
    CHECK(tier_id_cmp("1-0", "2-0") < 0);
    CHECK(tier_id_cmp("1700000000000-2", "1700000000000-10") < 0); /* numbers, not text */
    CHECK(tier_id_cmp("1700000000001-0", "1700000000000-99") > 0);
    CHECK_INT(tier_id_cmp("5-5", "5-5"), 0);
    CHECK_INT(tier_id_cmp("", "0-0"), 0);
}

static void test_keys_and_peers(void)
{
    char pub[41], sec[41], derived[41], got[41], err[512], path[256], text[1024];
    tier_peers_t *p = malloc(sizeof(*p));

    CHECK_INT(tier_keypair_new(pub, sec), 0);
    CHECK_INT(tier_key_public(sec, derived), 0);
    CHECK_STR(derived, pub);
    CHECK_INT(tier_key_read(pub, dir, got, err, sizeof(err)), 0); /* the 40 characters */
    CHECK_STR(got, pub);
    snprintf(text, sizeof(text), "%s\n", pub);
    put("bx.pub", text);
    CHECK_INT(tier_key_read("bx.pub", dir, got, err, sizeof(err)), 0); /* a file, relative */
    CHECK_STR(got, pub);
    put("bad.pub", "not a key\n");
    CHECK_INT(tier_key_read("bad.pub", dir, got, err, sizeof(err)), -1);
    CHECK(strstr(err, "bad.pub") != NULL && strstr(err, "40 Z85") != NULL);
    CHECK_INT(tier_key_read("missing.pub", dir, got, err, sizeof(err)), -1);
    CHECK(strstr(err, "missing.pub") != NULL);

    snprintf(text, sizeof(text),
             "[county bx]\nname = 北县\npublic_key = bx.pub\nlink = tcp://10.1.0.2:7401\n"
             "places = 北县, 河西\n    河西乡\n[county nx]\nname = 南县\npublic_key = %s\n"
             "places = 南县\n",
             pub);
    put("counties.conf", text);
    snprintf(path, sizeof(path), "%s/counties.conf", dir);
    CHECK_INT(tier_peers_load(path, p, err, sizeof(err)), 0);
    CHECK_INT(p->n, 2);
    CHECK_STR(p->peers[0].tier, "bx");
    CHECK_STR(p->peers[0].name, "北县");
    CHECK_STR(p->peers[0].endpoint, "tcp://10.1.0.2:7401");
    CHECK_INT(p->peers[0].n_places, 3);
    CHECK_STR(p->peers[1].public_key, pub);
    CHECK(tier_peers_find(p, "nx") == &p->peers[1]);
    CHECK(tier_peers_find(p, "zz") == NULL);
    CHECK(tier_peers_match(p, "南县河西乡的路灯坏了") == &p->peers[0]); /* longest name wins */
    CHECK(tier_peers_match(p, "南县的路灯坏了") == &p->peers[1]);
    CHECK(tier_peers_match(p, "路灯坏了") == NULL);
    CHECK_INT(tier_peers_changed(path, p), 0);

    put("counties.conf", "[county bx]\nname = 北县\ncolour = red\n");
    CHECK_INT(tier_peers_load(path, p, err, sizeof(err)), -1);
    CHECK(strstr(err, "counties.conf:3") != NULL && strstr(err, "colour") != NULL);
    put("counties.conf", "[county bx]\nname = 北县\n");
    CHECK_INT(tier_peers_load(path, p, err, sizeof(err)), -1);
    CHECK(strstr(err, "needs public_key") != NULL);
    put("counties.conf", "[county BX]\npublic_key = bx.pub\n");
    CHECK_INT(tier_peers_load(path, p, err, sizeof(err)), -1);
    CHECK(strstr(err, "a-z") != NULL);
    put("counties.conf", "[county bx]\npublic_key = bx.pub\nlink = http://x\n");
    CHECK_INT(tier_peers_load(path, p, err, sizeof(err)), -1);
    CHECK(strstr(err, "tcp://") != NULL);
    free(p);
}

/* Serves ZAP requests and reads the server until a frame arrives or 3 s pass. Returns 1 with
 * the frame's User-Id in user, or 0; verdicts counts the handler's answers. */
static int pump(void *server, tier_zap_t *zap, char *user, size_t cap, int *allowed,
                int *refused)
{
    for (int i = 0; i < 300; i++) {
        zmq_pollitem_t items[2] = {{tier_zap_socket(zap), 0, ZMQ_POLLIN, 0},
                                   {server, 0, ZMQ_POLLIN, 0}};
        tier_zap_verdict_t v;
        zmq_poll(items, 2, 10);
        while (tier_zap_serve(zap, &v) == 0)
            *(v.allowed ? allowed : refused) += 1;
        if (items[1].revents & ZMQ_POLLIN) {
            zmq_msg_t rid, body;
            const char *u;
            zmq_msg_init(&rid);
            zmq_msg_init(&body);
            zmq_msg_recv(&rid, server, 0);
            zmq_msg_recv(&body, server, 0);
            u = zmq_msg_gets(&body, "User-Id");
            snprintf(user, cap, "%s", u != NULL ? u : "");
            zmq_msg_close(&rid);
            zmq_msg_close(&body);
            return 1;
        }
    }
    return 0;
}

static void test_zap(void)
{
    void *ctx = zmq_ctx_new();
    char spub[41], ssec[41], cpub[41], csec[41], opub[41], osec[41], err[256], ep[64], user[64];
    tier_peer_t listed = {.tier = "bx"};
    tier_zap_t *zap;
    void *server, *good, *bad;
    size_t len = sizeof(ep);
    int allowed = 0, refused = 0;

    tier_keypair_new(spub, ssec);
    tier_keypair_new(cpub, csec);
    tier_keypair_new(opub, osec);
    memcpy(listed.public_key, cpub, sizeof(cpub));
    zap = tier_zap_new(ctx, err, sizeof(err));
    CHECK(zap != NULL);
    tier_zap_allow(zap, &listed, 1);
    server = tier_server_new(ctx, "tcp://127.0.0.1:*", ssec, 100, err, sizeof(err));
    CHECK(server != NULL);
    zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, ep, &len);

    good = tier_client_new(ctx, ep, spub, cpub, csec, 100, err, sizeof(err));
    CHECK(good != NULL);
    for (int i = 0; i < 300 && zmq_send(good, "hi", 2, ZMQ_DONTWAIT) < 0; i++) {
        tier_zap_verdict_t v;
        while (tier_zap_serve(zap, &v) == 0)
            *(v.allowed ? &allowed : &refused) += 1;
        usleep(10000);
    }
    CHECK_INT(pump(server, zap, user, sizeof(user), &allowed, &refused), 1);
    CHECK_STR(user, "bx"); /* who it is comes from its key */
    CHECK(allowed >= 1);

    bad = tier_client_new(ctx, ep, spub, opub, osec, 100, err, sizeof(err));
    zmq_send(bad, "hi", 2, ZMQ_DONTWAIT); /* not connected: refused at once, never queued */
    CHECK_INT(pump(server, zap, user, sizeof(user), &allowed, &refused), 0);
    CHECK(refused >= 1);

    zmq_close(good);
    zmq_close(bad);
    zmq_close(server);
    tier_zap_destroy(&zap);
    zmq_ctx_term(ctx);
}

int main(void)
{
    char cmd[300];

    if (mkdtemp(dir) == NULL)
        return 1;
    test_ids();
    test_keys_and_peers();
    test_zap();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}

/* test_units.c -- the units register: the demo county's file and the errors a wrong file gets */
#include "check.h"
#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/rexian-units-XXXXXX";

/* Writes text to a file in the test's directory and returns its path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    if (f == NULL)
        return path;
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads text; expects failure with want in the message. */
static void refused(const char *name, const char *text, const char *want)
{
    char err[512] = "";
    const char *path = write_file(name, text);
    units_t *u = units_load(path, err, sizeof(err));

    CHECK(u == NULL);
    if (strstr(err, want) == NULL) {
        check_failed++;
        fprintf(stderr, "%s: error \"%s\" does not contain \"%s\"\n", name, err, want);
    } else {
        check_passed++;
    }
    units_destroy(&u);
}

static void test_demo_county(void)
{
    const char *src = getenv("REXIAN_SOURCE_DIR");
    char path[1024], err[512] = "";
    const unit_t *u;
    units_t *units;

    snprintf(path, sizeof(path), "%s/deploy/beixian/units.conf", src != NULL ? src : ".");
    units = units_load(path, err, sizeof(err));
    if (units == NULL) {
        fprintf(stderr, "cannot load %s: %s\n", path, err);
        CHECK(units != NULL);
        return;
    }
    CHECK_INT(units_count(units), 44);
    u = units_find(units, "power-supply");
    CHECK(u != NULL);
    if (u != NULL) {
        CHECK_STR(u->kind, "utility");
        CHECK_STR(u->name, "国网北县供电公司");
        CHECK(strstr(u->duties, "power outages") != NULL);
    }
    u = units_find(units, "drc");
    /* duties spread over continuation lines come back as one text */
    CHECK(u != NULL && strstr(u->duties, "energy saving, grain reserves") != NULL);
    u = units_find(units, "town-jiazhen");
    CHECK(u != NULL && unit_is_township(u));
    CHECK(!unit_is_township(units_find(units, "education")));
    CHECK(units_find(units, "no-such-unit") == NULL);
    CHECK_INT(units_index(units, "gov-office"), 0);
    CHECK_STR(units_at(units, 0)->code, "gov-office");
    CHECK(units_at(units, 44) == NULL);
    for (size_t i = 0; i < units_count(units); i++)
        CHECK(units_at(units, i)->name[0] != '\0');
    units_destroy(&units);
    CHECK(units == NULL);
    units_destroy(&units);
    units_destroy(NULL);
}

static void test_good_file(void)
{
    char err[512] = "";
    const char *path = write_file("good.conf", "; two units\n"
                                               "[unit a-1]\n"
                                               "kind = department\n"
                                               "name = 甲局\n"
                                               "duties = first part,\n"
                                               "  second part\n"
                                               "webhook = https://hooks.example.org/a-1\n"
                                               "secret = k3y\n"
                                               "\n"
                                               "[unit b]\n"
                                               "kind = township\n"
                                               "name = 乙镇\n");
    units_t *u = units_load(path, err, sizeof(err));
    const unit_t *a;

    CHECK(u != NULL);
    if (u == NULL) {
        fprintf(stderr, "good.conf: %s\n", err);
        return;
    }
    a = units_find(u, "a-1");
    CHECK_STR(a->duties, "first part, second part");
    CHECK_STR(a->webhook, "https://hooks.example.org/a-1");
    CHECK_STR(a->secret, "k3y");
    CHECK_STR(units_find(u, "b")->webhook, "");
    CHECK_STR(units_find(u, "b")->name_en, "");
    units_destroy(&u);
}

static void test_bad_files(void)
{
    char longname[300], text[600];

    refused("dup.conf", "[unit a]\nkind = other\nname = x\n[unit a]\nkind = other\nname = y\n",
            "dup.conf:4: duplicate unit 'a' (first at line 1)");
    refused("key.conf", "[unit a]\nkind = other\nname = x\ncolour = red\n",
            "key.conf:4: unknown key 'colour'");
    refused("noname.conf", "[unit a]\nkind = other\n\n[unit b]\nkind = other\nname = b\n",
            "noname.conf:1: unit 'a' has no name");
    refused("nokind.conf", "[unit a]\nname = x\n[unit b]\n", "nokind.conf:1: unit 'a' has no kind");
    refused("empty-section.conf", "[unit a]\nkind = other\nname = x\n[unit b]\n",
            "empty-section.conf:4: unit 'b' has no kind");
    refused("code.conf", "[unit Power_Supply]\nkind = other\nname = x\n",
            "code.conf:1: invalid unit code 'Power_Supply'");
    refused("section.conf", "[units a]\nkind = other\nname = x\n",
            "section.conf:1: section [units a] not allowed");
    refused("kind.conf", "[unit a]\nkind = bureau\nname = x\n", "kind.conf:2: kind 'bureau'");
    refused("twice.conf", "[unit a]\nkind = other\nname = x\nname = y\n",
            "twice.conf:4: 'name' given twice");
    refused("hook.conf", "[unit a]\nkind = other\nname = x\nwebhook = ftp://x\n",
            "hook.conf:4: webhook 'ftp://x' is not an http");
    refused("outside.conf", "kind = other\n[unit a]\nkind = other\nname = x\n",
            "outside.conf:1: key 'kind' outside");
    refused("none.conf", "; nothing\n", "no [unit CODE] section");
    memset(longname, 'x', 150);
    longname[150] = '\0';
    snprintf(text, sizeof(text), "[unit a]\nkind = other\nname = %s\n", longname);
    refused("long.conf", text, "long.conf:3: name is 150 bytes; at most 127");
    {
        char err[256] = "";
        CHECK(units_load("/nonexistent/units.conf", err, sizeof(err)) == NULL);
        CHECK(strstr(err, "/nonexistent/units.conf: cannot open") != NULL);
    }
    CHECK(unit_code_valid("town-jiazhen"));
    CHECK(!unit_code_valid(""));
    CHECK(!unit_code_valid("a b"));
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_demo_county();
    test_good_file();
    test_bad_files();
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return check_done();
}

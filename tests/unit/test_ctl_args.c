/* test_ctl_args.c -- rexianctl's command line (options, defaults, usage errors, help, the
 * lifecycle steps' options) and what it prints (ticket page with its handling, list table,
 * error lines, terminal safety, Chinese alignment). */
#include "check.h"
#include "ctl_args.h"
#include "ctl_view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Parses a NULL-free argv list; err gets the message. */
static int parse(int argc, char **argv, const char *env_url, const char *env_token,
                 ctl_args_t *a, char *err)
{
    return ctl_args_parse(argc, argv, env_url, env_token, a, err);
}

/* What a view wrote, as one string (caller frees). */
typedef struct out_t {
    char *text; /* the output */
    size_t len; /* its length */
    FILE *f;    /* the stream writing it */
} out_t;

static void out_open(out_t *o)
{
    o->text = NULL;
    o->len = 0;
    o->f = open_memstream(&o->text, &o->len);
}

static void out_close(out_t *o)
{
    fclose(o->f);
}

/* The line of text (0-based) that starts with prefix, or NULL. Static buffer. */
static const char *line_with(const char *text, const char *needle)
{
    static char line[1024];
    const char *p = strstr(text, needle), *start, *end;

    if (p == NULL)
        return NULL;
    for (start = p; start > text && start[-1] != '\n'; start--)
        ;
    end = strchr(p, '\n');
    if (end == NULL)
        end = p + strlen(p);
    snprintf(line, sizeof(line), "%.*s", (int)(end - start), start);
    return line;
}

/* Display column at which needle starts in the line containing it; -1 when absent. */
static long column_of(const char *text, const char *needle)
{
    const char *line = line_with(text, needle);
    char prefix[1024];

    if (line == NULL)
        return -1;
    snprintf(prefix, sizeof(prefix), "%.*s", (int)(strstr(line, needle) - line), line);
    return (long)ctl_view_width(prefix);
}

static void test_defaults_and_env(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *v1[] = {"rexianctl", "ping"};
    char *v2[] = {"rexianctl", "--url", "http://10.0.0.5:9000/", "--token=t0k", "--timeout",
                  "3", "--json", "ping"};

    CHECK_INT(parse(ARGC(v1), v1, NULL, NULL, &a, err), 0);
    CHECK_STR(a.url, CTL_DEFAULT_URL);
    CHECK(a.token == NULL);
    CHECK_INT(a.timeout_s, CTL_DEFAULT_TIMEOUT_S);
    CHECK_INT(a.cmd, CTL_CMD_PING);
    CHECK_INT(a.json, 0);

    CHECK_INT(parse(ARGC(v1), v1, "http://intake:8345", "envtok", &a, err), 0);
    CHECK_STR(a.url, "http://intake:8345");
    CHECK_STR(a.token, "envtok");

    /* empty variables count as unset */
    CHECK_INT(parse(ARGC(v1), v1, "", "", &a, err), 0);
    CHECK_STR(a.url, CTL_DEFAULT_URL);
    CHECK(a.token == NULL);

    /* options beat the environment, "=" and separate words both work */
    CHECK_INT(parse(ARGC(v2), v2, "http://intake:8345", "envtok", &a, err), 0);
    CHECK_STR(a.url, "http://10.0.0.5:9000/");
    CHECK_STR(a.token, "t0k");
    CHECK_INT(a.timeout_s, 3);
    CHECK_INT(a.json, 1);

    /* a bad REXIAN_URL is reported under its own name */
    CHECK_INT(parse(ARGC(v1), v1, "intake:8345", NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "REXIAN_URL") != NULL);
}

static void test_create(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *ok[] = {"rexianctl", "create", "--phone", "13800000001", "--text", "路灯坏了",
                  "--channel=wechat", "--address", "城关镇人民路", "--category", "report",
                  "--township", "town-chengguan", "--name", "张三", "--idempotency-key", "k1"};
    char *no_text[] = {"rexianctl", "create", "--phone", "13800000001"};
    char *dash_text[] = {"rexianctl", "create", "--phone", "1", "--text", "-5度 太冷"};
    char *stray[] = {"rexianctl", "create", "--phone", "1", "--text", "路灯", "坏了"};
    char *twice[] = {"rexianctl", "create", "--phone", "1", "--phone", "2", "--text", "x"};
    char *empty[] = {"rexianctl", "create", "--phone=", "--text", "x"};
    char *novalue[] = {"rexianctl", "create", "--text", "x", "--phone"};
    char *late_json[] = {"rexianctl", "create", "--json", "--phone", "1", "--text", "x"};
    char *other_cmd_opt[] = {"rexianctl", "create", "--unit", "water", "--phone", "1"};

    CHECK_INT(parse(ARGC(ok), ok, NULL, NULL, &a, err), 0);
    CHECK_INT(a.cmd, CTL_CMD_CREATE);
    CHECK_STR(a.phone, "13800000001");
    CHECK_STR(a.text, "路灯坏了");
    CHECK_STR(a.channel, "wechat");
    CHECK_STR(a.address, "城关镇人民路");
    CHECK_STR(a.category, "report");
    CHECK_STR(a.township, "town-chengguan");
    CHECK_STR(a.name, "张三");
    CHECK_STR(a.idem, "k1");

    /* an option's value is the next word even when it starts with '-' */
    CHECK_INT(parse(ARGC(dash_text), dash_text, NULL, NULL, &a, err), 0);
    CHECK_STR(a.text, "-5度 太冷");

    /* failures leave the caller's struct alone and say what to fix */
    memset(&a, 0x5a, sizeof(a));
    CHECK_INT(parse(ARGC(no_text), no_text, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "--text") != NULL && strstr(err, "--phone") == NULL);
    CHECK_INT(a.cmd, 0x5a5a5a5a);
    CHECK_INT(parse(ARGC(stray), stray, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "'坏了'") != NULL && strstr(err, "quote") != NULL);
    CHECK_INT(parse(ARGC(twice), twice, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--phone is given twice");
    CHECK_INT(parse(ARGC(empty), empty, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--phone needs a non-empty value");
    CHECK_INT(parse(ARGC(novalue), novalue, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--phone needs a value");
    CHECK_INT(parse(ARGC(late_json), late_json, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "global option") != NULL && strstr(err, "rexianctl --json create") != NULL);
    CHECK_INT(parse(ARGC(other_cmd_opt), other_cmd_opt, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "create has no option '--unit'") != NULL &&
          strstr(err, "--idempotency-key") != NULL);
}

static void test_show_list_ping(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *show[] = {"rexianctl", "show", "BX-20261125-000123"};
    char *show_none[] = {"rexianctl", "show"};
    char *show_two[] = {"rexianctl", "show", "BX-1", "BX-2"};
    char *list[] = {"rexianctl", "list", "--unit", "water-supply", "--status=dispatched",
                    "--limit", "50", "--offset", "100"};
    char *list_plain[] = {"rexianctl", "list"};
    char *list_bad[] = {"rexianctl", "list", "--limit", "ten"};
    char *list_neg[] = {"rexianctl", "list", "--offset", "-1"};
    char *list_zero[] = {"rexianctl", "list", "--limit", "0"};
    char *ping_extra[] = {"rexianctl", "ping", "now"};

    CHECK_INT(parse(ARGC(show), show, NULL, NULL, &a, err), 0);
    CHECK_INT(a.cmd, CTL_CMD_SHOW);
    CHECK_STR(a.id, "BX-20261125-000123");
    CHECK_INT(parse(ARGC(show_none), show_none, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "ticket id") != NULL);
    CHECK_INT(parse(ARGC(show_two), show_two, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "'BX-2'") != NULL);

    CHECK_INT(parse(ARGC(list), list, NULL, NULL, &a, err), 0);
    CHECK_STR(a.unit, "water-supply");
    CHECK_STR(a.status, "dispatched");
    CHECK_INT(a.limit, 50);
    CHECK_INT(a.offset, 100);
    CHECK_INT(parse(ARGC(list_plain), list_plain, NULL, NULL, &a, err), 0);
    CHECK_INT(a.limit, -1); /* not sent: the server's default applies */
    CHECK_INT(a.offset, -1);
    CHECK_INT(parse(ARGC(list_bad), list_bad, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "--limit 'ten' must be a whole number") != NULL);
    CHECK_INT(parse(ARGC(list_neg), list_neg, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(list_zero), list_zero, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(ping_extra), ping_extra, NULL, NULL, &a, err), -EINVAL);
}

/* A step's command line with only what it requires. */
typedef struct step_case_t {
    const char *cmd;      /* the step */
    const char *opts[8];  /* required options and their values, NULL-terminated */
} step_case_t;

static const step_case_t step_cases[] = {
    {"resolve", {"--answer", "已按知识库答复", NULL}},
    {"reject", {"--reason", "in_court", NULL}},
    {"dispatch", {"--unit", "urban-management", NULL}},
    {"ack", {NULL}},
    {"return", {"--reason", "other", "--note", "不归我们管", NULL}},
    {"review-return", {"--decision", "reject", "--reason", "地址写明人民路", NULL}},
    {"subdispatch", {"--unit", "town-chengguan", "--due", "2026-12-01T17:30", "--note", "核实",
                     NULL}},
    {"extend", {"--until", "2026-12-08T17:30", "--reason", "需要采购灯具", NULL}},
    {"decide-extension", {"--decision", "approve", "--reason", "同意", NULL}},
    {"reply", {"--text", "已修复", NULL}},
    {"rate", {"--rating", "unreachable", NULL}},
    {"close", {"--reason", "撤回", NULL}},
    {"merge", {"--into", "BX-20261125-000001", NULL}},
};

/* Builds argv: rexianctl CMD [ID] OPTS..., leaving out the option pair at index skip (-1 for
 * none). Returns argc. */
static int step_argv(const step_case_t *sc, int with_id, int skip, char *argv[16])
{
    int n = 0;

    argv[n++] = "rexianctl";
    argv[n++] = (char *)sc->cmd;
    if (with_id)
        argv[n++] = "BX-20261125-000123";
    for (int k = 0; sc->opts[k] != NULL; k += 2) {
        if (k == skip)
            continue;
        argv[n++] = (char *)sc->opts[k];
        argv[n++] = (char *)sc->opts[k + 1];
    }
    return n;
}

static void test_steps_required(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *argv[16];
    size_t ncases = sizeof(step_cases) / sizeof(step_cases[0]);

    /* every step has a case here */
    CHECK_INT((int)ncases, CTL_CMD_COUNT - CTL_CMD_RESOLVE);
    for (size_t i = 0; i < ncases; i++) {
        const step_case_t *sc = &step_cases[i];
        int argc = step_argv(sc, 1, -1, argv);

        CHECK_INT(parse(argc, argv, NULL, NULL, &a, err), 0);
        CHECK_STR(ctl_args_cmd_name(a.cmd), sc->cmd);
        CHECK(ctl_args_is_step(a.cmd));
        CHECK_STR(a.id, "BX-20261125-000123");
        CHECK_INT(a.rev, -1); /* not sent */
        /* the help of the step names its options, the revision and an example */
        CHECK(strstr(ctl_args_help(a.cmd), "--rev N") != NULL);
        CHECK(strstr(ctl_args_help(a.cmd), "Example") != NULL);
        for (int k = 0; sc->opts[k] != NULL; k += 2)
            CHECK(strstr(ctl_args_help(a.cmd), sc->opts[k]) != NULL);

        /* leaving out any required option is a usage error naming it */
        for (int k = 0; sc->opts[k] != NULL; k += 2) {
            char want[64];
            argc = step_argv(sc, 1, k, argv);
            snprintf(want, sizeof(want), "%s needs", sc->cmd);
            CHECK_INT(parse(argc, argv, NULL, NULL, &a, err), -EINVAL);
            CHECK(strstr(err, want) != NULL && strstr(err, sc->opts[k]) != NULL);
        }
        argc = step_argv(sc, 0, -1, argv);
        CHECK_INT(parse(argc, argv, NULL, NULL, &a, err), -EINVAL);
        CHECK(strstr(err, "needs a ticket id") != NULL);
    }
    CHECK(!ctl_args_is_step(CTL_CMD_LIST) && !ctl_args_is_step(CTL_CMD_NONE));
}

static void test_steps_values(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *dispatch[] = {"rexianctl", "dispatch", "BX-1", "--unit", "urban-management",
                        "--co-unit", "town-chengguan", "--co-unit=power-supply", "--urgency",
                        "urgent", "--note", "请协同", "--same-unit", "--rev", "7"};
    char *five[] = {"rexianctl", "dispatch", "BX-1", "--unit", "u", "--co-unit", "a",
                    "--co-unit", "b", "--co-unit", "c", "--co-unit", "d", "--co-unit", "e"};
    char *urgency[] = {"rexianctl", "dispatch", "BX-1", "--unit", "u", "--urgency", "high"};
    char *flag_value[] = {"rexianctl", "dispatch", "BX-1", "--unit", "u", "--same-unit=yes"};
    char *rr_redispatch[] = {"rexianctl", "review-return", "BX-1", "--decision", "redispatch",
                             "--unit", "town-chengguan", "--co-unit", "power-supply",
                             "--reason", "城关镇负责"};
    char *rr_no_unit[] = {"rexianctl", "review-return", "BX-1", "--decision", "redispatch",
                          "--reason", "x"};
    char *rr_reject_unit[] = {"rexianctl", "review-return", "BX-1", "--decision", "reject",
                              "--unit", "town-chengguan", "--reason", "x"};
    char *rr_bad[] = {"rexianctl", "review-return", "BX-1", "--decision", "approve",
                      "--reason", "x"};
    char *de_bad[] = {"rexianctl", "decide-extension", "BX-1", "--decision", "redispatch",
                      "--reason", "x"};
    char *rate_bad[] = {"rexianctl", "rate", "BX-1", "--rating", "meh"};
    char *rate_ok[] = {"rexianctl", "rate", "BX-1", "--rating", "basically_satisfied",
                       "--words", "还行"};
    /* times and reasons are the server's to judge: they pass through as written */
    char *times[] = {"rexianctl", "subdispatch", "BX-1", "--unit", "town-chengguan", "--due",
                     "next tuesday", "--note", "x"};
    char *until[] = {"rexianctl", "extend", "BX-1", "--until", "2026-13-45T99:99", "--reason",
                     "x"};
    char *reason[] = {"rexianctl", "reject", "BX-1", "--reason", "a_reason_configured_here"};
    char *rev0[] = {"rexianctl", "ack", "BX-1", "--rev", "0"};
    char *rev_text[] = {"rexianctl", "ack", "BX-1", "--rev", "latest"};
    char *note_twice[] = {"rexianctl", "merge", "BX-1", "--into", "BX-2", "--note", "a",
                          "--note", "b"};
    char *other_opt[] = {"rexianctl", "ack", "BX-1", "--reason", "x"};
    char *list_rev[] = {"rexianctl", "list", "--rev", "3"};
    char *stray[] = {"rexianctl", "close", "BX-1", "--reason", "来电人", "撤回"};
    char *id_after[] = {"rexianctl", "close", "--reason", "x", "BX-1"};
    char *stdin_text[] = {"rexianctl", "reply", "BX-1", "--text", "-"};
    char *help[] = {"rexianctl", "merge", "--help"};
    char *help2[] = {"rexianctl", "help", "decide-extension"};

    CHECK_INT(parse(ARGC(dispatch), dispatch, NULL, NULL, &a, err), 0);
    CHECK_STR(a.unit, "urban-management");
    CHECK_INT((int)a.n_co_units, 2);
    CHECK_STR(a.co_units[0], "town-chengguan"); /* in the order given */
    CHECK_STR(a.co_units[1], "power-supply");
    CHECK_STR(a.urgency, "urgent");
    CHECK_STR(a.note, "请协同");
    CHECK_INT(a.same_unit, 1);
    CHECK_INT(a.rev, 7);
    CHECK_INT(parse(ARGC(five), five, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "--co-unit") != NULL && strstr(err, "at most 4") != NULL);
    CHECK_INT(parse(ARGC(urgency), urgency, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--urgency 'high' must be one of: emergency, urgent, normal");
    CHECK_INT(parse(ARGC(flag_value), flag_value, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--same-unit takes no value");

    CHECK_INT(parse(ARGC(rr_redispatch), rr_redispatch, NULL, NULL, &a, err), 0);
    CHECK_STR(a.decision, "redispatch");
    CHECK_STR(a.unit, "town-chengguan");
    CHECK_INT((int)a.n_co_units, 1);
    CHECK_INT(parse(ARGC(rr_no_unit), rr_no_unit, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "redispatch needs --unit") != NULL);
    CHECK_INT(parse(ARGC(rr_reject_unit), rr_reject_unit, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "drop --unit") != NULL);
    CHECK_INT(parse(ARGC(rr_bad), rr_bad, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--decision 'approve' must be one of: redispatch, reject");
    CHECK_INT(parse(ARGC(de_bad), de_bad, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--decision 'redispatch' must be one of: approve, refuse");
    CHECK_INT(parse(ARGC(rate_bad), rate_bad, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--rating 'meh' must be one of: satisfied, basically_satisfied, unsatisfied, "
                   "unreachable");
    CHECK_INT(parse(ARGC(rate_ok), rate_ok, NULL, NULL, &a, err), 0);
    CHECK_STR(a.rating, "basically_satisfied");
    CHECK_STR(a.words, "还行");

    CHECK_INT(parse(ARGC(times), times, NULL, NULL, &a, err), 0);
    CHECK_STR(a.due, "next tuesday");
    CHECK_INT(parse(ARGC(until), until, NULL, NULL, &a, err), 0);
    CHECK_STR(a.until, "2026-13-45T99:99");
    CHECK_INT(parse(ARGC(reason), reason, NULL, NULL, &a, err), 0);
    CHECK_STR(a.reason, "a_reason_configured_here");

    CHECK_INT(parse(ARGC(rev0), rev0, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "--rev '0' must be a whole number from 1") != NULL);
    CHECK_INT(parse(ARGC(rev_text), rev_text, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(note_twice), note_twice, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--note is given twice");
    CHECK_INT(parse(ARGC(other_opt), other_opt, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "ack has no option '--reason' (its options: --rev)");
    CHECK_INT(parse(ARGC(list_rev), list_rev, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "list has no option '--rev'") != NULL);
    CHECK_INT(parse(ARGC(stray), stray, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "'撤回' is one too many") != NULL && strstr(err, "quote") != NULL);
    CHECK_INT(parse(ARGC(id_after), id_after, NULL, NULL, &a, err), 0); /* the id anywhere */
    CHECK_STR(a.id, "BX-1");
    CHECK_INT(parse(ARGC(stdin_text), stdin_text, NULL, NULL, &a, err), 0);
    CHECK_STR(a.text, "-");

    CHECK_INT(parse(ARGC(help), help, NULL, NULL, &a, err), 0); /* --help beats missing --into */
    CHECK(a.help && a.cmd == CTL_CMD_MERGE);
    CHECK_INT(parse(ARGC(help2), help2, NULL, NULL, &a, err), 0);
    CHECK(a.help && a.cmd == CTL_CMD_DECIDE_EXTENSION);
    /* help gives the allowed values */
    CHECK(strstr(ctl_args_help(CTL_CMD_RATE), "basically_satisfied") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_REJECT), "emergency_110") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_RETURN), "not_our_responsibility") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_DISPATCH), "emergency, urgent or normal") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_DECIDE_EXTENSION), "approve or refuse") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_REVIEW_RETURN), "redispatch or reject") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_DISPATCH), "--same-unit") != NULL &&
          strstr(ctl_args_help(CTL_CMD_DISPATCH), "--co-unit") != NULL);
}

static void test_evidence(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *ok[] = {"rexianctl", "reply", "BX-1", "--text", "已修复",
                  "--evidence", "photo.jpg,sha256:ab12,https://f.example/get?a=1,b=2",
                  "--evidence", "report.pdf", "--evidence=call.mp3,,https://f.example/c"};
    char *no_name[] = {"rexianctl", "reply", "BX-1", "--text", "x", "--evidence", ",sha256:ab"};
    char long_name[CTL_EVIDENCE_NAME_MAX + 2];
    char *too_long[] = {"rexianctl", "reply", "BX-1", "--text", "x", "--evidence", long_name};
    char *eleven[32] = {"rexianctl", "reply", "BX-1", "--text", "x"};
    int n = 5;

    CHECK_INT(parse(ARGC(ok), ok, NULL, NULL, &a, err), 0);
    CHECK_INT((int)a.n_evidence, 3);
    CHECK(a.evidence[0].name_len == 9 && strncmp(a.evidence[0].name, "photo.jpg", 9) == 0);
    CHECK(a.evidence[0].hash_len == 11 && strncmp(a.evidence[0].hash, "sha256:ab12", 11) == 0);
    CHECK_STR(a.evidence[0].url, "https://f.example/get?a=1,b=2"); /* commas stay in the URL */
    CHECK_INT((int)a.evidence[0].url_len, (int)strlen("https://f.example/get?a=1,b=2"));
    CHECK(a.evidence[1].name_len == 10 && a.evidence[1].hash_len == 0 &&
          a.evidence[1].url_len == 0);
    CHECK(a.evidence[2].name_len == 8 && a.evidence[2].hash_len == 0);
    CHECK_STR(a.evidence[2].url, "https://f.example/c");

    CHECK_INT(parse(ARGC(no_name), no_name, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "needs a name first") != NULL);
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    CHECK_INT(parse(ARGC(too_long), too_long, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "at most 200") != NULL);
    for (int i = 0; i < CTL_EVIDENCE_MAX + 1; i++) {
        eleven[n++] = "--evidence";
        eleven[n++] = "p.jpg";
    }
    CHECK_INT(parse(n - 2, eleven, NULL, NULL, &a, err), 0); /* 10 are fine */
    CHECK_INT((int)a.n_evidence, CTL_EVIDENCE_MAX);
    CHECK_INT(parse(n, eleven, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "at most 10") != NULL);
}

static void test_global_errors(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *none[] = {"rexianctl"};
    char *unknown[] = {"rexianctl", "delete", "BX-1"};
    char *bad_global[] = {"rexianctl", "--phone", "1", "create"};
    char *ftp[] = {"rexianctl", "--url", "ftp://x", "ping"};
    char *hostless[] = {"rexianctl", "--url", "http://", "ping"};
    char *query[] = {"rexianctl", "--url", "http://x/?a=b", "ping"};
    char *token_sp[] = {"rexianctl", "--token", "a b", "ping"};
    char *timeout0[] = {"rexianctl", "--timeout", "0", "ping"};
    char *timeout_big[] = {"rexianctl", "--timeout", "99999", "ping"};
    char *url_twice[] = {"rexianctl", "--url", "http://a", "--url", "http://b", "ping"};
    char long_token[CTL_TOKEN_MAX + 2];
    char *token_long[] = {"rexianctl", "--token", long_token, "ping"};

    CHECK_INT(parse(ARGC(none), none, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "no command") != NULL);
    CHECK_INT(parse(ARGC(unknown), unknown, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "unknown command 'delete'") != NULL && strstr(err, "list") != NULL);
    CHECK_INT(parse(ARGC(bad_global), bad_global, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "'--phone'") != NULL && strstr(err, "after the command") != NULL);
    CHECK_INT(parse(ARGC(ftp), ftp, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "http://") != NULL);
    CHECK_INT(parse(ARGC(hostless), hostless, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(query), query, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(token_sp), token_sp, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(timeout0), timeout0, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(timeout_big), timeout_big, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(url_twice), url_twice, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--url is given twice");
    memset(long_token, 'x', sizeof(long_token) - 1);
    long_token[sizeof(long_token) - 1] = '\0';
    CHECK_INT(parse(ARGC(token_long), token_long, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "at most 256") != NULL);
}

static void test_help(void)
{
    static const char *create_opts[] = {"--phone", "--text", "--channel", "--address",
                                        "--category", "--township", "--name",
                                        "--idempotency-key", NULL};
    static const char *list_opts[] = {"--unit", "--status", "--limit", "--offset", NULL};
    static const char *globals[] = {"--url", "--token", "--json", "--timeout", "REXIAN_URL",
                                    "REXIAN_TOKEN", CTL_DEFAULT_URL, NULL};
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *h1[] = {"rexianctl", "--help"};
    char *h2[] = {"rexianctl", "help", "list"};
    char *h3[] = {"rexianctl", "create", "--phone", "1", "--help"};
    char *h4[] = {"rexianctl", "--help", "show"};
    char *h5[] = {"rexianctl", "help", "nope"};
    char *ver[] = {"rexianctl", "--version"};

    CHECK_INT(parse(ARGC(h1), h1, NULL, NULL, &a, err), 0);
    CHECK(a.help && a.cmd == CTL_CMD_NONE);
    CHECK_INT(parse(ARGC(h2), h2, NULL, NULL, &a, err), 0);
    CHECK(a.help && a.cmd == CTL_CMD_LIST);
    CHECK_INT(parse(ARGC(h3), h3, NULL, NULL, &a, err), 0); /* --help wins over missing --text */
    CHECK(a.help && a.cmd == CTL_CMD_CREATE);
    CHECK_INT(parse(ARGC(h4), h4, NULL, NULL, &a, err), 0);
    CHECK(a.help && a.cmd == CTL_CMD_SHOW);
    CHECK_INT(parse(ARGC(h5), h5, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(ver), ver, NULL, NULL, &a, err), 0);
    CHECK(a.version);

    /* every option is documented where a user looks for it */
    for (int i = 0; create_opts[i] != NULL; i++)
        CHECK(strstr(ctl_args_help(CTL_CMD_CREATE), create_opts[i]) != NULL);
    for (int i = 0; list_opts[i] != NULL; i++)
        CHECK(strstr(ctl_args_help(CTL_CMD_LIST), list_opts[i]) != NULL);
    for (int i = 0; globals[i] != NULL; i++)
        CHECK(strstr(ctl_args_help(CTL_CMD_NONE), globals[i]) != NULL);
    for (ctl_cmd_t c = CTL_CMD_PING; c < CTL_CMD_COUNT; c++) {
        CHECK(strstr(ctl_args_help(CTL_CMD_NONE), ctl_args_cmd_name(c)) != NULL);
        CHECK(strstr(ctl_args_help(c), ctl_args_cmd_name(c)) != NULL);
    }
    CHECK(strstr(ctl_args_help(CTL_CMD_NONE), "3  cannot connect") != NULL);
}

static void test_width_and_cells(void)
{
    out_t o;

    CHECK_INT(ctl_view_width("路灯ab"), 6);
    CHECK_INT(ctl_view_width("ｆｕｌｌ"), 8);   /* fullwidth forms */
    CHECK_INT(ctl_view_width("e\xcc\x81"), 1); /* e + combining acute */
    CHECK_INT(ctl_view_width("\xff\xfe"), 2);  /* broken bytes show as '?' */

    out_open(&o);
    ctl_view_cell(o.f, "路灯坏了", 5); /* 8 columns into 5: 2 characters and the mark */
    fputc('|', o.f);
    ctl_view_cell(o.f, "路灯", 6); /* padded to 6 */
    fputc('|', o.f);
    ctl_view_cell(o.f, "a\x1b[2J\x07\xe2\x80\xae" "b\nc", -1); /* ESC, BEL, RLO, newline */
    out_close(&o);
    CHECK_STR(o.text, "路灯…|路灯  |a?[2J??b c");
    free(o.text);
}

static void test_error_line(void)
{
    char line[CTL_VIEW_LINE_MAX];
    static const char api[] = "{\"error\":{\"code\":\"invalid_value\",\"message\":\"caller.phone "
                              "must be 5 to 20 digits\",\"field\":\"caller.phone\"}}";
    static const char nofield[] = "{\"error\":{\"code\":\"not_found\",\"message\":\"no ticket "
                                  "BX-1\"}}";
    static const char evil[] = "{\"error\":{\"code\":\"x\",\"message\":\"a\\u001b]0;t\\u0007b\"}}";
    static const char html[] = "<html>Bad Gateway</html>\n";

    ctl_view_error(400, api, strlen(api), line);
    CHECK_STR(line, "400 invalid_value (caller.phone): caller.phone must be 5 to 20 digits");
    ctl_view_error(404, nofield, strlen(nofield), line);
    CHECK_STR(line, "404 not_found: no ticket BX-1");
    ctl_view_error(400, evil, strlen(evil), line);
    CHECK_STR(line, "400 x: a?]0;t?b");
    ctl_view_error(502, html, strlen(html), line);
    CHECK_STR(line, "HTTP 502: <html>Bad Gateway</html> ");
    ctl_view_error(500, NULL, 0, line);
    CHECK_STR(line, "HTTP 500 with an empty answer");
}

static void test_list_view(void)
{
    static const char page[] =
        "{\"items\":["
        "{\"id\":\"BX-20261125-000012\",\"status\":\"dispatched\",\"unit\":\"water-supply\","
        "\"urgency\":\"urgent\",\"created_at\":\"2026-11-25T10:01:02.345+08:00\","
        "\"phone\":\"139****0001\",\"text\":\"西关镇自来水停水三天了\"},"
        "{\"id\":\"BX-20261125-000011\",\"status\":\"pending_dispatch\",\"unit\":\"\","
        "\"urgency\":\"normal\",\"created_at\":\"2026-11-25T09:00:00+08:00\","
        "\"phone\":\"138****0002\",\"text\":\"street light out\"}],"
        "\"total\":8,\"offset\":2,\"limit\":2,\"next_offset\":4}";
    static const char last[] = "{\"items\":[],\"total\":3,\"offset\":10,\"limit\":20,"
                               "\"next_offset\":null}";
    json_t *j = json_loads(page, 0, NULL);
    out_t o;

    out_open(&o);
    CHECK_INT(ctl_view_list(o.f, j), 0);
    out_close(&o);
    CHECK(strstr(o.text, "3-4 of 8; next page: --offset 4\n") != NULL);
    CHECK(strstr(o.text, "2026-11-25 10:01  ") != NULL);
    /* the text column lines up whatever the width of the cells before it */
    CHECK(column_of(o.text, "TEXT") > 0);
    CHECK_INT(column_of(o.text, "西关镇"), column_of(o.text, "TEXT"));
    CHECK_INT(column_of(o.text, "street light"), column_of(o.text, "TEXT"));
    CHECK(line_with(o.text, "BX-20261125-000011") != NULL &&
          strstr(line_with(o.text, "BX-20261125-000011"), "  -  ") != NULL); /* no unit yet */
    free(o.text);
    json_decref(j);

    j = json_loads(last, 0, NULL);
    out_open(&o);
    CHECK_INT(ctl_view_list(o.f, j), 0);
    out_close(&o);
    CHECK_STR(o.text, "no tickets here (3 in all, offset 10)\n");
    free(o.text);
    json_decref(j);

    j = json_loads("{\"error\":{}}", 0, NULL);
    out_open(&o);
    CHECK_INT(ctl_view_list(o.f, j), -EINVAL);
    out_close(&o);
    free(o.text);
    json_decref(j);
}

static void test_ticket_view(void)
{
    static const char ticket[] =
        "{\"id\":\"BX-20261125-000123\",\"status\":\"dispatched\",\"channel\":\"phone\","
        "\"caller\":{\"phone\":\"138****0001\"},\"text\":\"路灯坏了\\n晚上很黑\","
        "\"address\":\"城关镇人民路\",\"category\":\"report\",\"township\":\"\","
        "\"unit\":\"urban-management\",\"co_units\":[\"power-supply\"],\"urgency\":\"normal\","
        "\"created_at\":\"2026-11-25T10:00:00+08:00\","
        "\"dispatched_at\":\"2026-11-25T10:00:01.500+08:00\",\"updated_at\":null,"
        "\"deadlines\":{\"ack\":{\"due\":\"2026-11-26T17:30:00+08:00\",\"due_ms\":1,"
        "\"state\":\"overdue\",\"span\":\"1wd\"},\"reply\":{\"due\":\"2026-11-28T10:00:01+08:00\","
        "\"due_ms\":2,\"state\":\"running\",\"span\":\"72h\"}},"
        "\"deadlines_provisional\":false,"
        "\"route\":{\"why\":\"urban-management 10 [路灯+10]\",\"score\":10,"
        "\"candidates\":[{\"unit\":\"urban-management\",\"score\":10},"
        "{\"unit\":\"power-supply\",\"score\":4}]},"
        "\"timeline\":[{\"at\":\"2026-11-25T10:00:00+08:00\",\"actor\":\"demo-operator\","
        "\"role\":\"operator\",\"what\":\"received\",\"note\":\"channel phone\"},"
        "{\"at\":\"2026-11-25T10:00:01+08:00\",\"actor\":\"router@host/7\",\"role\":\"router\","
        "\"what\":\"dispatched\",\"unit\":\"urban-management\",\"co_units\":{}}],"
        "\"notifications\":[{\"nid\":\"n1\",\"kind\":\"unit.new_order\","
        "\"target\":\"urban-management\",\"state\":\"retrying\",\"attempts\":3,"
        "\"last_error\":\"HTTP 500\"}]}";
    json_t *j = json_loads(ticket, 0, NULL);
    out_t o;

    CHECK(j != NULL);
    out_open(&o);
    CHECK_INT(ctl_view_ticket(o.f, j), 0);
    out_close(&o);
    CHECK(strncmp(o.text, "BX-20261125-000123  dispatched\n", 31) == 0);
    CHECK(strstr(o.text, "  unit        urban-management (co-handlers: power-supply)\n") != NULL);
    CHECK(strstr(o.text, "  dispatched  2026-11-25 10:00:01\n") != NULL);
    CHECK(strstr(o.text, "  路灯坏了\n  晚上很黑\n") != NULL); /* each line indented */
    CHECK(strstr(o.text, "township") == NULL);                 /* empty fields are left out */
    CHECK(line_with(o.text, "  ack    2026-11-26 17:30:00  overdue  1wd") != NULL);
    CHECK(line_with(o.text, "  reply  2026-11-28 10:00:01  running  72h") != NULL);
    CHECK(strstr(o.text, "candidates  urban-management 10, power-supply 4\n") != NULL);
    CHECK(line_with(o.text, "demo-operator (operator)") != NULL);
    CHECK(line_with(o.text, "router@host/7  ") != NULL &&
          strstr(line_with(o.text, "router@host/7"), "unit=urban-management") != NULL &&
          strstr(line_with(o.text, "router@host/7"), "(router)") == NULL);
    CHECK(line_with(o.text, "unit.new_order") != NULL &&
          strstr(line_with(o.text, "unit.new_order"), "retrying  3         HTTP 500") != NULL);
    free(o.text);
    json_decref(j);

    j = json_loads("[1]", 0, NULL);
    out_open(&o);
    CHECK_INT(ctl_view_ticket(o.f, j), -EINVAL);
    out_close(&o);
    free(o.text);
    json_decref(j);
}

static void test_ticket_view_lifecycle(void)
{
    static const char ticket[] =
        "{\"id\":\"BX-20261125-000123\",\"status\":\"closed\",\"caller\":{\"phone\":\"1\"},"
        "\"text\":\"路灯坏了\",\"unit\":\"urban-management\",\"co_units\":[\"town-chengguan\"],"
        "\"urgency\":\"normal\",\"deadlines\":{},\"rev\":11,\"reopened\":1,"
        "\"return_due\":\"2026-11-27T17:30:00+08:00\","
        "\"reply_text\":\"三个路灯均已修复。\\n请查看照片\","
        "\"replied_at\":\"2026-11-26T09:00:00+08:00\","
        "\"reply_evidence\":[{\"name\":\"photo.jpg\",\"hash\":\"sha256:ab12\","
        "\"url\":\"https://f.example/p\"},{\"name\":\"report.pdf\"}],"
        "\"ack_at\":\"2026-11-25T10:05:00+08:00\","
        "\"co_acks\":{\"town-chengguan\":1795572000000},"
        "\"co_replies\":{\"town-chengguan\":{\"text\":\"镇里已配合\",\"at\":1795572000000}},"
        "\"subs\":[{\"unit\":\"town-jiazhen\",\"due\":1796117400000,\"note\":\"核实位置\","
        "\"at\":1795572000000,\"by\":\"urban-management\"}],"
        "\"returned_by\":\"power-supply\",\"return_reason\":\"not_our_responsibility\","
        "\"return_note\":\"不归供电\","
        "\"extension_state\":\"approved\",\"extension_until\":\"2026-12-01T17:30:00+08:00\","
        "\"extension_reason\":\"需要采购灯具\","
        "\"rating\":\"satisfied\",\"rating_words\":\"都亮了\","
        "\"rated_at\":\"2026-11-26T10:00:00+08:00\",\"resolution\":\"closed\","
        "\"closed_at\":\"2026-11-26T10:00:00+08:00\",\"merged\":[\"BX-20261125-000124\","
        "\"BX-20261125-000125\"],"
        "\"timeline\":[{\"at\":\"2026-11-26T09:00:00+08:00\",\"actor\":\"t-urban\","
        "\"role\":\"unit\",\"what\":\"reply\",\"note\":\"修复\",\"evidence\":[{\"name\":\"a.jpg\","
        "\"hash\":\"h1\"},{\"name\":\"b.pdf\"}]},{\"at\":\"2026-11-25T11:00:00+08:00\","
        "\"actor\":\"t-urban\",\"role\":\"unit\",\"what\":\"extend\",\"until\":1796117400000}],"
        "\"notifications\":[]}";
    static const char open[] =
        "{\"id\":\"BX-20261125-000126\",\"status\":\"acknowledged\",\"unit\":\"u\","
        "\"return_due\":\"2026-11-27T17:30:00+08:00\",\"rev\":3,\"reopened\":0,"
        "\"co_acks\":{},\"subs\":{},\"timeline\":[],\"notifications\":[]}";
    static const char fresh[] =
        "{\"id\":\"BX-20261125-000127\",\"status\":\"pending_dispatch\",\"unit\":null,"
        "\"rev\":1,\"reopened\":0,\"timeline\":[],\"notifications\":[]}";
    static const char resolved[] =
        "{\"id\":\"BX-20261125-000128\",\"status\":\"merged\",\"rev\":3,\"reopened\":0,"
        "\"merged_into\":\"BX-20261125-000123\",\"resolution\":\"first_contact\","
        "\"answer\":\"已答复\",\"reject_reason\":\"in_court\",\"close_reason\":\"撤回\","
        "\"closed_at\":\"2026-11-26T10:00:00+08:00\",\"timeline\":[],\"notifications\":[]}";
    json_t *j = json_loads(ticket, 0, NULL);
    out_t o;

    CHECK(j != NULL);
    out_open(&o);
    CHECK_INT(ctl_view_ticket(o.f, j), 0);
    out_close(&o);
    CHECK(strstr(o.text, "  revision    11\n  reopened    1 time\n") != NULL);
    CHECK(strstr(o.text, "\nReply (2026-11-26 09:00:00)\n  三个路灯均已修复。\n  请查看照片\n"
                         "  evidence    photo.jpg (sha256:ab12, https://f.example/p)\n"
                         "              report.pdf\n") != NULL);
    CHECK(strstr(o.text, "\nHandling\n"
                         "  acked       2026-11-25 10:05:00\n"
                         "  co-acked    town-chengguan  2026-11-25 10:00:00\n"
                         "  returned    by power-supply: not_our_responsibility (不归供电)\n"
                         "  sub         town-jiazhen, due 2026-12-01 17:30:00, from "
                         "urban-management: 核实位置\n"
                         "  extension   approved, until 2026-12-01 17:30:00: 需要采购灯具\n"
                         "  co-reply    town-chengguan  2026-11-25 10:00:00: 镇里已配合\n"
                         "  rating      satisfied: 都亮了 (2026-11-26 10:00:00)\n"
                         "  resolution  closed\n"
                         "  closed      2026-11-26 10:00:00\n"
                         "  merged here BX-20261125-000124,BX-20261125-000125\n\n") != NULL);
    CHECK(strstr(o.text, "return by") == NULL); /* closed: the window no longer matters */
    CHECK(line_with(o.text, "evidence=a.jpg (h1) | b.pdf") != NULL);
    CHECK(line_with(o.text, "until=2026-12-01 17:30:00") != NULL);
    free(o.text);
    json_decref(j);

    j = json_loads(open, 0, NULL);
    out_open(&o);
    CHECK_INT(ctl_view_ticket(o.f, j), 0);
    out_close(&o);
    CHECK(strstr(o.text, "\nHandling\n  return by   2026-11-27 17:30:00\n\n") != NULL);
    CHECK(strstr(o.text, "reopened") == NULL && strstr(o.text, "Reply") == NULL);
    free(o.text);
    json_decref(j);

    j = json_loads(fresh, 0, NULL);
    out_open(&o);
    CHECK_INT(ctl_view_ticket(o.f, j), 0);
    out_close(&o);
    CHECK(strstr(o.text, "Handling") == NULL && strstr(o.text, "Reply") == NULL);
    free(o.text);
    json_decref(j);

    j = json_loads(resolved, 0, NULL);
    out_open(&o);
    CHECK_INT(ctl_view_ticket(o.f, j), 0);
    out_close(&o);
    CHECK(strstr(o.text, "  resolution  first_contact\n  answer      已答复\n"
                         "  rejected    in_court\n  closed      2026-11-26 10:00:00: 撤回\n"
                         "  merged into BX-20261125-000123\n") != NULL);
    free(o.text);
    json_decref(j);
}

static void test_health(void)
{
    json_t *ok = json_loads("{\"status\":\"ok\",\"service\":\"router\",\"redis\":\"up\"}", 0,
                            NULL);
    json_t *bad = json_loads("{\"status\":\"degraded\",\"redis\":\"down\"}", 0, NULL);
    out_t o;

    out_open(&o);
    CHECK_INT(ctl_view_health(o.f, ok), 1);
    CHECK_INT(ctl_view_health(o.f, bad), 0);
    CHECK_INT(ctl_view_health(o.f, NULL), -EINVAL);
    out_close(&o);
    CHECK_STR(o.text, "ok  service=router  redis=up\ndegraded  redis=down\n");
    free(o.text);
    json_decref(ok);
    json_decref(bad);
}

int main(void)
{
    test_defaults_and_env();
    test_create();
    test_show_list_ping();
    test_steps_required();
    test_steps_values();
    test_evidence();
    test_global_errors();
    test_help();
    test_width_and_cells();
    test_error_line();
    test_list_view();
    test_ticket_view();
    test_ticket_view_lifecycle();
    test_health();
    return check_done();
}

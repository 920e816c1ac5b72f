/* test_ctl_args.c -- rexianctl's command line (options, defaults, usage errors, help, the
 * lifecycle steps' options, scores and audit, due) and what it prints (ticket page with its
 * handling, list table, metrics, the circular as table and CSV, recomputation, claims, the
 * overdue board, error lines, terminal safety, Chinese alignment), due's deadlines, and dead
 * letters (their command lines, the list, one dead letter with its message, retried and
 * dropped). */
#include "check.h"
#include "ctl_args.h"
#include "ctl_deadletters.h"
#include "ctl_due.h"
#include "ctl_report.h"
#include "ctl_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    {"pause", {"--reason", "等待来电人提供地址", NULL}},
    {"resume", {NULL}},
    {"explain", {"--text", "已当面解释政策", NULL}},
    {"claim", {"--kind", "rating", "--reason", "rating_not_about_unit", "--text", "不满的是政策",
               NULL}},
    {"rule", {"--claim", "1", "--decision", "accept", "--reason", "证据充分", NULL}},
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

/* 1 when s starts with prefix. */
static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_new_steps_values(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *claim[] = {"rexianctl", "claim", "BX-1", "--kind", "unreasonable", "--reason",
                     "repeated_without_new_facts", "--text", "-", "--evidence",
                     "通话录音.mp3,sha256:ef56", "--evidence", "审核表.pdf", "--rev", "9"};
    char *claim_kind[] = {"rexianctl", "claim", "BX-1", "--kind", "rude", "--reason", "x",
                          "--text", "x"};
    char *rule_zero[] = {"rexianctl", "rule", "BX-1", "--claim", "0", "--decision", "accept",
                         "--reason", "x"};
    char *rule_big[] = {"rexianctl", "rule", "BX-1", "--claim", "11", "--decision", "accept",
                        "--reason", "x"};
    char *rule_word[] = {"rexianctl", "rule", "BX-1", "--claim", "first", "--decision",
                         "accept", "--reason", "x"};
    char *rule_decision[] = {"rexianctl", "rule", "BX-1", "--claim", "2", "--decision",
                             "approve", "--reason", "x"};
    char *rule_ok[] = {"rexianctl", "rule", "BX-1", "--claim=10", "--decision", "reject",
                       "--reason", "证据不足"};
    char *rule_none[] = {"rexianctl", "rule", "BX-1"};
    char *resume[] = {"rexianctl", "resume", "BX-1", "--note", "来电人已补充地址"};
    char *pause_note[] = {"rexianctl", "pause", "BX-1", "--reason", "x", "--note", "y"};
    char *explain[] = {"rexianctl", "explain", "BX-1", "--text", "已当面解释", "--evidence",
                       "a.jpg,,https://f.example/a"};

    CHECK_INT(parse(ARGC(claim), claim, NULL, NULL, &a, err), 0);
    CHECK_INT(a.cmd, CTL_CMD_CLAIM);
    CHECK_STR(a.kind, "unreasonable");
    CHECK_STR(a.reason, "repeated_without_new_facts"); /* the server knows the configured list */
    CHECK_STR(a.text, "-");
    CHECK_INT((int)a.n_evidence, 2);
    CHECK(a.evidence[1].name_len == strlen("审核表.pdf"));
    CHECK_INT(a.rev, 9);
    CHECK_INT(a.claim, -1);
    CHECK_INT(parse(ARGC(claim_kind), claim_kind, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--kind 'rude' must be one of: unreasonable, rating");

    CHECK_INT(parse(ARGC(rule_ok), rule_ok, NULL, NULL, &a, err), 0);
    CHECK_INT(a.claim, 10);
    CHECK_STR(a.decision, "reject");
    CHECK_INT(parse(ARGC(rule_zero), rule_zero, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--claim '0' must be a whole number from 1 to 10");
    CHECK_INT(parse(ARGC(rule_big), rule_big, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(rule_word), rule_word, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(rule_decision), rule_decision, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--decision 'approve' must be one of: accept, reject");
    /* everything missing is named at once */
    CHECK_INT(parse(ARGC(rule_none), rule_none, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "rule needs --claim N") != NULL && strstr(err, "and --decision") != NULL &&
          strstr(err, "and --reason") != NULL);

    CHECK_INT(parse(ARGC(resume), resume, NULL, NULL, &a, err), 0);
    CHECK_STR(a.note, "来电人已补充地址");
    CHECK_INT(parse(ARGC(pause_note), pause_note, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "pause has no option '--note' (its options: --reason, --rev)");
    CHECK_INT(parse(ARGC(explain), explain, NULL, NULL, &a, err), 0);
    CHECK_STR(a.evidence[0].url, "https://f.example/a");

    CHECK(strstr(ctl_args_help(CTL_CMD_CLAIM), "rating_not_about_unit") != NULL &&
          strstr(ctl_args_help(CTL_CMD_CLAIM), "unreasonable or rating") != NULL &&
          strstr(ctl_args_help(CTL_CMD_CLAIM), "claim N") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_RULE), "accept or reject") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_EXPLAIN), "--evidence") != NULL);
}

static void test_metrics_args(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *plain[] = {"rexianctl", "metrics"};
    char *month[] = {"rexianctl", "metrics", "--period", "2025-01", "--unit", "urban-management",
                     "--kind", "department"};
    char *day[] = {"rexianctl", "metrics", "--day=2025-01-24"};
    char *range[] = {"rexianctl", "metrics", "--from", "2025-01-01", "--to", "2025-03-31"};
    char *two[] = {"rexianctl", "metrics", "--period", "2025-01", "--day", "2025-01-24"};
    char *from_only[] = {"rexianctl", "metrics", "--from", "2025-01-01"};
    char *to_only[] = {"rexianctl", "metrics", "--to", "2025-01-01"};
    char *backwards[] = {"rexianctl", "metrics", "--from", "2025-03-01", "--to", "2025-01-01"};
    char *bad_month[] = {"rexianctl", "metrics", "--period", "2025-13"};
    char *bad_month2[] = {"rexianctl", "metrics", "--period", "2025-1"};
    char *bad_day[] = {"rexianctl", "metrics", "--day", "2025-01-32"};
    char *bad_from[] = {"rexianctl", "metrics", "--from", "20250101", "--to", "2025-01-02"};
    char *kind[] = {"rexianctl", "metrics", "--kind", "village"};
    char *recompute[] = {"rexianctl", "metrics", "--recompute", "--from", "2025-01-01", "--to",
                         "2025-01-31"};
    char *recompute_unit[] = {"rexianctl", "metrics", "--recompute", "--unit", "water-supply"};
    char *both[] = {"rexianctl", "metrics", "--recompute", "--orders", "--unit", "u",
                    "--metric", "due"};
    char *orders[] = {"rexianctl", "metrics", "--orders", "--unit", "*", "--metric",
                      "rated_unsatisfied", "--day", "2025-01-24"};
    char *orders_no_metric[] = {"rexianctl", "metrics", "--orders", "--unit", "u"};
    char *orders_kind[] = {"rexianctl", "metrics", "--orders", "--unit", "u", "--metric", "due",
                           "--kind", "township"};
    char *metric_alone[] = {"rexianctl", "metrics", "--metric", "due"};
    char *metric_bad[] = {"rexianctl", "metrics", "--orders", "--unit", "u", "--metric",
                          "happiness"};
    char *stray[] = {"rexianctl", "metrics", "2025-01"};
    char *flag_value[] = {"rexianctl", "metrics", "--recompute=yes"};

    CHECK_INT(parse(ARGC(plain), plain, NULL, NULL, &a, err), 0);
    CHECK_INT(a.cmd, CTL_CMD_METRICS);
    /* nothing given: this month, which rexianctl works out when it asks */
    CHECK(a.period == NULL && a.day == NULL && a.from == NULL && a.to == NULL);
    CHECK(!a.recompute && !a.orders && a.unit == NULL && a.kind == NULL);
    CHECK_INT(parse(ARGC(month), month, NULL, NULL, &a, err), 0);
    CHECK_STR(a.period, "2025-01");
    CHECK_STR(a.unit, "urban-management");
    CHECK_STR(a.kind, "department");
    CHECK_INT(parse(ARGC(day), day, NULL, NULL, &a, err), 0);
    CHECK_STR(a.day, "2025-01-24");
    CHECK_INT(parse(ARGC(range), range, NULL, NULL, &a, err), 0);
    CHECK_STR(a.from, "2025-01-01");
    CHECK_STR(a.to, "2025-03-31");

    CHECK_INT(parse(ARGC(two), two, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "metrics takes one period") != NULL);
    CHECK_INT(parse(ARGC(from_only), from_only, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "--from needs --to") != NULL);
    CHECK_INT(parse(ARGC(to_only), to_only, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "needs --from") != NULL || strstr(err, "--from; --to") != NULL);
    CHECK_INT(parse(ARGC(backwards), backwards, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--to 2025-01-01 is before --from 2025-03-01");
    CHECK_INT(parse(ARGC(bad_month), bad_month, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--period '2025-13' must be a month like 2025-01");
    CHECK_INT(parse(ARGC(bad_month2), bad_month2, NULL, NULL, &a, err), -EINVAL);
    CHECK_INT(parse(ARGC(bad_day), bad_day, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--day '2025-01-32' must be a date like 2025-01-24");
    CHECK_INT(parse(ARGC(bad_from), bad_from, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--from '20250101' must be a date like 2025-01-24");
    CHECK_INT(parse(ARGC(kind), kind, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--kind 'village' must be one of: township, department, utility, other");

    CHECK_INT(parse(ARGC(recompute), recompute, NULL, NULL, &a, err), 0);
    CHECK(a.recompute && !a.orders);
    CHECK_INT(parse(ARGC(recompute_unit), recompute_unit, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "--recompute checks every unit") != NULL);
    CHECK_INT(parse(ARGC(both), both, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "give one") != NULL);
    CHECK_INT(parse(ARGC(orders), orders, NULL, NULL, &a, err), 0);
    CHECK(a.orders && strcmp(a.unit, "*") == 0 && strcmp(a.metric, "rated_unsatisfied") == 0);
    CHECK_INT(parse(ARGC(orders_no_metric), orders_no_metric, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "--orders needs --unit U") != NULL && strstr(err, "--metric M") != NULL);
    CHECK_INT(parse(ARGC(orders_kind), orders_kind, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "drop --kind") != NULL);
    CHECK_INT(parse(ARGC(metric_alone), metric_alone, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "--metric goes with --orders") != NULL);
    CHECK_INT(parse(ARGC(metric_bad), metric_bad, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "'happiness' is not a counter") != NULL);
    CHECK_INT(parse(ARGC(stray), stray, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "unexpected argument '2025-01'") != NULL);
    CHECK_INT(parse(ARGC(flag_value), flag_value, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--recompute takes no value");

    /* every counter --metric accepts is in the help, and every one is accepted */
    for (const char *const *m = ctl_args_metrics(); *m != NULL; m++) {
        char *argv[] = {"rexianctl", "metrics", "--orders", "--unit", "u", "--metric",
                        (char *)*m};
        CHECK(strstr(ctl_args_help(CTL_CMD_METRICS), *m) != NULL);
        CHECK_INT(parse(ARGC(argv), argv, NULL, NULL, &a, err), 0);
    }
    CHECK(strstr(ctl_args_help(CTL_CMD_METRICS), "SAT%ALL") != NULL);
}

static void test_report_claims_overdue_due_args(void)
{
    char err[CTL_ERR_MAX];
    ctl_args_t a;
    char *report[] = {"rexianctl", "report", "--period", "2025-01", "--format", "csv"};
    char *report_plain[] = {"rexianctl", "report", "--period", "2025-01"};
    char *report_none[] = {"rexianctl", "report", "--format", "json"};
    char *report_fmt[] = {"rexianctl", "report", "--period", "2025-01", "--format", "xlsx"};
    char *report_day[] = {"rexianctl", "report", "--period", "2025-01", "--day", "2025-01-02"};
    char *report_bad[] = {"rexianctl", "report", "--period", "January"};
    char *claims[] = {"rexianctl", "claims", "--unit", "town-chengguan", "--supervisor",
                      "t-supervisor", "--status", "accepted"};
    char *claims_plain[] = {"rexianctl", "claims"};
    char *claims_status[] = {"rexianctl", "claims", "--status", "ruled"};
    char *overdue[] = {"rexianctl", "overdue"};
    char *overdue_unit[] = {"rexianctl", "overdue", "--unit", "u"};
    char *due[] = {"rexianctl", "due", "--from", "2025-01-24T10:00", "--add", "5wd",
                   "--calendar", "/etc/rexian/calendar"};
    char *due_no_add[] = {"rexianctl", "due", "--from", "2025-01-24T10:00"};
    char *due_none[] = {"rexianctl", "due"};
    char *due_help[] = {"rexianctl", "help", "due"};

    CHECK_INT(parse(ARGC(report), report, NULL, NULL, &a, err), 0);
    CHECK_INT(a.cmd, CTL_CMD_REPORT);
    CHECK_STR(a.period, "2025-01");
    CHECK_STR(a.format, "csv");
    CHECK_INT(parse(ARGC(report_plain), report_plain, NULL, NULL, &a, err), 0);
    CHECK(a.format == NULL); /* table */
    CHECK_INT(parse(ARGC(report_none), report_none, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "report needs --period") != NULL);
    CHECK_INT(parse(ARGC(report_fmt), report_fmt, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--format 'xlsx' must be one of: csv, json, table");
    CHECK_INT(parse(ARGC(report_day), report_day, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "report has no option '--day'") != NULL);
    CHECK_INT(parse(ARGC(report_bad), report_bad, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "must be a month like 2025-01") != NULL);

    CHECK_INT(parse(ARGC(claims), claims, NULL, NULL, &a, err), 0);
    CHECK_INT(a.cmd, CTL_CMD_CLAIMS);
    CHECK_STR(a.unit, "town-chengguan");
    CHECK_STR(a.supervisor, "t-supervisor");
    CHECK_STR(a.status, "accepted");
    CHECK_INT(parse(ARGC(claims_plain), claims_plain, NULL, NULL, &a, err), 0);
    CHECK(a.unit == NULL && a.supervisor == NULL && a.status == NULL);
    CHECK_INT(parse(ARGC(claims_status), claims_status, NULL, NULL, &a, err), -EINVAL);
    CHECK_STR(err, "--status 'ruled' must be one of: pending, accepted, rejected");

    CHECK_INT(parse(ARGC(overdue), overdue, NULL, NULL, &a, err), 0);
    CHECK_INT(a.cmd, CTL_CMD_OVERDUE);
    CHECK_INT(parse(ARGC(overdue_unit), overdue_unit, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "overdue has no option '--unit' (its options: none)") != NULL);

    CHECK_INT(parse(ARGC(due), due, NULL, NULL, &a, err), 0);
    CHECK_INT(a.cmd, CTL_CMD_DUE);
    CHECK_STR(a.from, "2025-01-24T10:00");
    CHECK_STR(a.add, "5wd");
    CHECK_STR(a.calendar, "/etc/rexian/calendar");
    CHECK_INT(parse(ARGC(due_no_add), due_no_add, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "due needs --add") != NULL && strstr(err, "5wd") != NULL);
    CHECK_INT(parse(ARGC(due_none), due_none, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "due needs --from") != NULL && strstr(err, "and --add") != NULL);
    CHECK_INT(parse(ARGC(due_help), due_help, NULL, NULL, &a, err), 0);
    CHECK(a.help && a.cmd == CTL_CMD_DUE);
    CHECK(strstr(ctl_args_help(CTL_CMD_DUE), "REXIAN_CALENDAR") != NULL &&
          strstr(ctl_args_help(CTL_CMD_DUE), "13wd+next") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_REPORT), "RFC 4180") != NULL);
}

/* ---------------------------------------------------------------------------------------------
 * The scores' views */

/* A GET /v1/metrics answer: three units (one with a name CSV must quote), the tier, kinds. */
static const char metrics_answer[] =
    "{\"period\":{\"from\":\"2025-01-01\",\"to\":\"2025-01-31\"},"
    "\"tier\":{\"counts\":{\"received\":9,\"dispatched\":7,\"acknowledged\":6,"
    "\"ack_on_time\":5,\"due\":4,\"closed\":4,\"closed_on_time\":3,\"rated_satisfied\":3,"
    "\"rated_unsatisfied\":2,\"excluded_unsatisfied\":1,\"claims\":2,\"claims_accepted\":1},"
    "\"rates\":{\"ack_on_time_rate\":83.33,\"on_time_closure_rate\":75.0,\"closure_rate\":100.0,"
    "\"satisfaction_rate\":75.0,\"satisfaction_rate_without_exclusions\":60.0}},"
    "\"units\":["
    "{\"unit\":\"urban-management\",\"name\":\"县城市管理综合行政执法局\",\"kind\":\"department\","
    "\"counts\":{\"dispatched\":4,\"acknowledged\":4,\"ack_on_time\":4,\"due\":2,\"closed\":2,"
    "\"closed_on_time\":2,\"rated_satisfied\":1,\"rated_unsatisfied\":2,"
    "\"excluded_unsatisfied\":1,\"claims\":2,\"claims_accepted\":1,\"claims_rejected\":1},"
    "\"rates\":{\"ack_on_time_rate\":100.0,\"on_time_closure_rate\":100.0,"
    "\"closure_rate\":100.0,\"satisfaction_rate\":50.0,"
    "\"satisfaction_rate_without_exclusions\":33.33},"
    "\"flags\":[\"satisfaction 50.00% is under 90%\"]},"
    "{\"unit\":\"town-chengguan\",\"name\":\"城关镇人民政府\",\"kind\":\"township\","
    "\"counts\":{\"dispatched\":3,\"acknowledged\":2,\"ack_on_time\":1,\"due\":2,\"closed\":2,"
    "\"closed_on_time\":1,\"rated_satisfied\":2},"
    "\"rates\":{\"ack_on_time_rate\":50.0,\"on_time_closure_rate\":50.0,\"closure_rate\":100.0,"
    "\"satisfaction_rate\":100.0,\"satisfaction_rate_without_exclusions\":100.0},"
    "\"flags\":[\"on-time closure 50.00% is under 80%\"]},"
    "{\"unit\":\"water-supply\",\"name\":\"北县\\\"自来水\\\",公司\",\"kind\":\"utility\","
    "\"counts\":{\"dispatched\":0},"
    "\"rates\":{\"ack_on_time_rate\":null,\"on_time_closure_rate\":null,\"closure_rate\":null,"
    "\"satisfaction_rate\":null,\"satisfaction_rate_without_exclusions\":null},\"flags\":[]}],"
    "\"kinds\":{\"department\":{\"counts\":{\"dispatched\":4},\"rates\":{}},"
    "\"township\":{\"counts\":{\"dispatched\":3},\"rates\":{}}},"
    "\"ranking\":{\"satisfaction_rate\":[{\"unit\":\"town-chengguan\",\"satisfaction_rate\":100.0},"
    "{\"unit\":\"urban-management\",\"satisfaction_rate\":50.0}]},"
    "\"thresholds\":{\"satisfaction\":90,\"on_time_closure\":80}}";

/* The whitespace-separated words of the line containing needle (at most 32). */
static int words_of(const char *text, const char *needle, char words[32][64])
{
    const char *line = line_with(text, needle);
    char copy[1024], *save = NULL, *w;
    int n = 0;

    if (line == NULL)
        return 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (w = strtok_r(copy, " ", &save); w != NULL && n < 32; w = strtok_r(NULL, " ", &save))
        snprintf(words[n++], 64, "%s", w);
    return n;
}

static void test_metrics_view(void)
{
    json_t *j = json_loads(metrics_answer, 0, NULL);
    char w[32][64];
    out_t o;
    int n;

    CHECK(j != NULL);
    out_open(&o);
    CHECK_INT(ctl_report_metrics(o.f, j), 0);
    out_close(&o);
    CHECK(starts(o.text, "Period 2025-01-01 to 2025-01-31 (thresholds: satisfaction 90%, "
                          "on-time closure 80%)\n"));
    /* UNIT RECV DISP ACK ACK% DUE CLOSED ON-TIME% CLOSE% RATED EXCL SAT% SAT%ALL OVERDUE ESC
     * RET REOPEN CLAIMS FLAGS */
    n = words_of(o.text, "urban-management ", w);
    CHECK(n >= 19);
    CHECK_STR(w[2], "4");
    CHECK_STR(w[4], "100.00");
    CHECK_STR(w[9], "3");  /* rated: satisfied, basically, unsatisfied */
    CHECK_STR(w[10], "1"); /* excluded */
    CHECK_STR(w[11], "50.00");
    CHECK_STR(w[12], "33.33");
    CHECK_STR(w[17], "2/1/1");
    CHECK(strstr(line_with(o.text, "urban-management "), "satisfaction 50.00% is under 90%") !=
          NULL);
    n = words_of(o.text, "(tier)", w);
    CHECK(n == 18 && strcmp(w[1], "9") == 0 && strcmp(w[11], "75.00") == 0);
    /* a unit with nothing counted is left out, and the reader is told */
    CHECK(strstr(o.text, "water-supply") == NULL);
    CHECK(strstr(o.text, "(1 unit with nothing counted in the period not shown") != NULL);
    /* no rate to compute prints '-' */
    n = words_of(o.text, "town-chengguan ", w);
    CHECK(n >= 19 && strcmp(w[10], "0") == 0 && strcmp(w[11], "100.00") == 0);
    CHECK(strstr(o.text, "\nBy kind of unit\nKIND ") != NULL);
    n = words_of(o.text, "township ", w);
    CHECK(n == 18 && strcmp(w[2], "3") == 0 && strcmp(w[4], "-") == 0);
    /* numbers are aligned right: the last digit under the header's last letter */
    CHECK_INT(column_of(o.text, "SAT%ALL") + (long)strlen("SAT%ALL"),
              column_of(o.text, "33.33") + (long)strlen("33.33"));
    free(o.text);
    json_decref(j);

    j = json_loads("{\"units\":{}}", 0, NULL);
    out_open(&o);
    CHECK_INT(ctl_report_metrics(o.f, j), -EINVAL);
    out_close(&o);
    free(o.text);
    json_decref(j);
}

static void test_circular(void)
{
    json_t *j = json_loads(metrics_answer, 0, NULL);
    const char *chengguan, *urban, *water;
    char w[32][64];
    out_t o;

    out_open(&o);
    CHECK_INT(ctl_report_circular_table(o.f, j), 0);
    out_close(&o);
    CHECK(starts(o.text, "Circular for 2025-01-01 to 2025-01-31"));
    /* best first, every unit, a unit without ratings has no rank */
    chengguan = strstr(o.text, "town-chengguan");
    urban = strstr(o.text, "urban-management");
    water = strstr(o.text, "water-supply");
    CHECK(chengguan != NULL && urban != NULL && water != NULL && chengguan < urban &&
          urban < water);
    CHECK(words_of(o.text, "town-chengguan", w) >= 3 && strcmp(w[0], "1") == 0);
    CHECK(words_of(o.text, "urban-management", w) >= 3 && strcmp(w[0], "2") == 0 &&
          strcmp(w[2], "县城市管理综合行政执法局") == 0);
    CHECK(words_of(o.text, "water-supply", w) >= 1 && strcmp(w[0], "-") == 0);
    /* Chinese names take two columns: the kinds still line up */
    CHECK(column_of(o.text, "department") > 0);
    CHECK_INT(column_of(o.text, "township"), column_of(o.text, "department"));
    CHECK_INT(column_of(o.text, "KIND"), column_of(o.text, "department"));
    CHECK(strstr(o.text, "3 units, 2 under a threshold\n") != NULL);
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_report_circular_csv(o.f, j), 0);
    out_close(&o);
    /* a header naming every counter and rate, CRLF line ends, RFC 4180 quoting */
    CHECK(starts(o.text, "rank,unit,name,kind,received,dispatched,acknowledged,ack_on_time,"));
    CHECK(strstr(o.text, ",claims_rejected,ack_on_time_rate,on_time_closure_rate,closure_rate,"
                         "satisfaction_rate,satisfaction_rate_without_exclusions,flags\r\n") !=
          NULL);
    CHECK(strstr(o.text, "\r\n1,town-chengguan,城关镇人民政府,township,0,3,2,1,") != NULL);
    CHECK(strstr(o.text, "\r\n2,urban-management,县城市管理综合行政执法局,department,0,4,4,4,"
                         "0,0,0,0,2,2,2,1,0,2,0,0,0,1,0,2,1,1,100.00,100.00,100.00,50.00,"
                         "33.33,satisfaction 50.00% is under 90%\r\n") != NULL);
    CHECK(strstr(o.text, "\r\n,water-supply,\"北县\"\"自来水\"\",公司\",utility,0,0,") != NULL);
    CHECK(strstr(o.text, ",0,,,,,,\r\n") != NULL); /* no rates, no flags: empty fields */
    free(o.text);
    json_decref(j);

    /* equal rates share a rank */
    j = json_loads("{\"units\":[{\"unit\":\"a\"},{\"unit\":\"b\"},{\"unit\":\"c\"}],"
                   "\"ranking\":{\"satisfaction_rate\":[{\"unit\":\"b\",\"satisfaction_rate\":90},"
                   "{\"unit\":\"c\",\"satisfaction_rate\":90},{\"unit\":\"a\","
                   "\"satisfaction_rate\":80}]}}", 0, NULL);
    out_open(&o);
    CHECK_INT(ctl_report_circular_csv(o.f, j), 0);
    out_close(&o);
    CHECK(strstr(o.text, "\r\n1,b,") != NULL && strstr(o.text, "\r\n1,c,") != NULL &&
          strstr(o.text, "\r\n3,a,") != NULL);
    free(o.text);
    json_decref(j);
}

static void test_recompute_orders_view(void)
{
    json_t *agree = json_loads("{\"agree\":true,\"orders\":12,\"counters\":48,"
                               "\"differences\":[]}", 0, NULL);
    json_t *differ = json_loads("{\"agree\":false,\"orders\":12,\"counters\":48,"
                                "\"differences\":[{\"key\":\"20112|urban-management|closed\","
                                "\"live\":3,\"recomputed\":2},{\"key\":\"20112|*|closed\","
                                "\"live\":3,\"recomputed\":2}]}", 0, NULL);
    json_t *orders = json_loads("{\"unit\":\"u\",\"metric\":\"due\",\"count\":2,\"orders\":"
                                "[\"BX-20250124-000001\",\"BX-20250124-000002\\u001b[2J\"]}", 0,
                                NULL);
    json_t *bad = json_loads("{\"agree\":\"yes\"}", 0, NULL);
    char w[32][64];
    out_t o;

    out_open(&o);
    CHECK_INT(ctl_report_recompute(o.f, agree), 0);
    out_close(&o);
    CHECK_STR(o.text, "agree: the live counters match the orders' timelines\n"
                      "checked 12 orders and 48 live counters\n");
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_report_recompute(o.f, differ), 1);
    out_close(&o);
    CHECK(starts(o.text, "differ: 2 counters do not match the orders' timelines\n"
                          "checked 12 orders and 48 live counters\n"));
    /* day 20112 since 1970 is 2025-01-24 */
    CHECK(words_of(o.text, "urban-management", w) == 5 && strcmp(w[0], "2025-01-24") == 0 &&
          strcmp(w[2], "closed") == 0 && strcmp(w[3], "3") == 0 && strcmp(w[4], "2") == 0);
    CHECK(line_with(o.text, "(tier)") != NULL);
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_report_recompute(o.f, bad), -EINVAL);
    CHECK_INT(ctl_report_orders(o.f, orders), 2);
    CHECK_INT(ctl_report_orders(o.f, bad), -EINVAL);
    out_close(&o);
    CHECK_STR(o.text, "BX-20250124-000001\nBX-20250124-000002?[2J\n");
    free(o.text);
    json_decref(agree);
    json_decref(differ);
    json_decref(orders);
    json_decref(bad);
}

static void test_claims_overdue_view(void)
{
    json_t *claims = json_loads(
        "{\"count\":2,\"items\":[{\"ticket\":\"BX-20250124-000007\",\"id\":2,"
        "\"kind\":\"rating\",\"reason\":\"rating_not_about_unit\",\"text\":\"x\","
        "\"by\":\"town-chengguan\",\"at\":1737684000000,\"status\":\"accepted\","
        "\"ruled_by\":\"t-supervisor\",\"ruled_at\":1737687600000,\"ruling\":\"评价针对低保政策\"},"
        "{\"ticket\":\"BX-20250124-000003\",\"id\":1,\"kind\":\"unreasonable\","
        "\"reason\":\"unreasonable_request\",\"by\":\"town-chengguan\",\"at\":1737680400000,"
        "\"status\":\"pending\"}]}", 0, NULL);
    json_t *none = json_loads("{\"count\":0,\"items\":[]}", 0, NULL);
    json_t *board = json_loads(
        "{\"overdue\":3,\"escalated\":1,\"units\":{"
        "\"town-chengguan\":{\"overdue\":1,\"escalated\":0,\"orders\":[{\"ticket\":"
        "\"BX-20250124-000009\",\"stage\":\"ack\",\"due\":\"2025-01-24T17:30:00+08:00\","
        "\"status\":\"dispatched\",\"escalated_at\":null}]},"
        "\"urban-management\":{\"overdue\":2,\"escalated\":1,\"orders\":[{\"ticket\":"
        "\"BX-20250124-000001\",\"stage\":\"close\",\"due\":\"2025-01-24T17:30:00+08:00\","
        "\"status\":\"acknowledged\",\"escalated_at\":\"2025-01-27T17:30:00+08:00\"},"
        "{\"ticket\":\"BX-20250124-000002\",\"stage\":\"reply\",\"due\":"
        "\"2025-01-25T10:00:00+08:00\",\"status\":\"acknowledged\",\"escalated_at\":null}]}}}",
        0, NULL);
    json_t *empty = json_loads("{\"overdue\":0,\"escalated\":0,\"units\":{}}", 0, NULL);
    char w[32][64];
    out_t o;
    int n;

    out_open(&o);
    CHECK_INT(ctl_report_claims(o.f, claims), 0);
    out_close(&o);
    CHECK(words_of(o.text, "TICKET", w) == 12); /* RULED BY and RULED AT are two words each */
    n = words_of(o.text, "BX-20250124-000007", w);
    CHECK(n == 12 && strcmp(w[1], "2") == 0 && strcmp(w[2], "town-chengguan") == 0 &&
          strcmp(w[3], "rating") == 0 && strcmp(w[4], "rating_not_about_unit") == 0 &&
          strcmp(w[5], "accepted") == 0 && strcmp(w[6], "2025-01-24") == 0 &&
          strcmp(w[7], "10:00:00") == 0 && strcmp(w[8], "t-supervisor") == 0 &&
          strcmp(w[10], "11:00:00") == 0 && strcmp(w[11], "评价针对低保政策") == 0);
    n = words_of(o.text, "BX-20250124-000003", w);
    CHECK(n == 8 && strcmp(w[5], "pending") == 0);
    CHECK(strstr(o.text, "\n2 claims\n") != NULL);
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_report_claims(o.f, none), 0);
    CHECK_INT(ctl_report_claims(o.f, board), -EINVAL);
    out_close(&o);
    CHECK_STR(o.text, "0 claims\n");
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_report_overdue(o.f, board), 0);
    out_close(&o);
    CHECK(starts(o.text, "3 stages overdue, 1 escalated\n\n"
                          "urban-management  2 overdue, 1 escalated\n"
                          "  TICKET              STAGE  DUE"));
    /* the most overdue unit first */
    CHECK(strstr(o.text, "urban-management") < strstr(o.text, "town-chengguan"));
    n = words_of(o.text, "BX-20250124-000001", w);
    CHECK(n == 7 && strcmp(w[1], "close") == 0 && strcmp(w[4], "acknowledged") == 0 &&
          strcmp(w[5], "2025-01-27") == 0);
    CHECK(words_of(o.text, "BX-20250124-000002", w) == 5); /* not escalated: nothing there */
    CHECK(line_with(o.text, "town-chengguan  1 overdue, 0 escalated") != NULL);
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_report_overdue(o.f, empty), 0);
    CHECK_INT(ctl_report_overdue(o.f, claims), -EINVAL);
    out_close(&o);
    CHECK_STR(o.text, "0 stages overdue, 0 escalated\n");
    free(o.text);
    json_decref(claims);
    json_decref(none);
    json_decref(board);
    json_decref(empty);
}

static void test_ticket_view_claims(void)
{
    static const char ticket[] =
        "{\"id\":\"BX-20250124-000007\",\"status\":\"dispatched\",\"unit\":\"town-chengguan\","
        "\"rev\":9,\"reopened\":1,\"paused_at\":\"2025-01-24T11:00:00+08:00\","
        "\"pause_reason\":\"等待来电人\",\"rating\":\"unsatisfied\","
        "\"claims\":[{\"id\":1,\"kind\":\"unreasonable\",\"reason\":\"unreasonable_request\","
        "\"status\":\"rejected\",\"ruled_by\":\"t-supervisor\",\"ruling\":\"证据不足\"},"
        "{\"id\":2,\"kind\":\"rating\",\"reason\":\"rating_not_about_unit\","
        "\"status\":\"pending\"}],\"timeline\":[],\"notifications\":[]}";
    json_t *j = json_loads(ticket, 0, NULL);
    out_t o;

    out_open(&o);
    CHECK_INT(ctl_view_ticket(o.f, j), 0);
    out_close(&o);
    CHECK(strstr(o.text, "  paused      since 2025-01-24 11:00:00: 等待来电人\n") != NULL);
    CHECK(strstr(o.text, "  claim       1 unreasonable, unreasonable_request: rejected by "
                         "t-supervisor (证据不足)\n"
                         "  claim       2 rating, rating_not_about_unit: pending\n") != NULL);
    free(o.text);
    json_decref(j);
}

/* ---------------------------------------------------------------------------------------------
 * due */

/* due with the shipped calendar (deploy/calendar, the 2025 and 2026 notices). */
static int due(const char *from, const char *span, ctl_due_t *d, char *err)
{
    const char *src = getenv("REXIAN_SOURCE_DIR");
    char dir[1024];

    snprintf(dir, sizeof(dir), "%s/deploy/calendar", src != NULL ? src : ".");
    return ctl_due_compute(dir, from, span, d, err);
}

static void test_due(void)
{
    /* the answers cal.h gives as examples, and a few worked by hand from its rules */
    static const struct {
        const char *from;  /* start */
        const char *span;  /* --add */
        const char *want;  /* the deadline */
    } cases[] = {
        /* Spring Festival 2025: make-up Sunday Jan 26 counted, Jan 28 - Feb 4 off */
        {"2025-01-24T10:00", "5wd", "2025-02-07T17:30:00+08:00"},
        {"2025-03-07T10:00", "1wd", "2025-03-10T17:30:00+08:00"},      /* Friday: Monday */
        {"2025-03-07T18:00", "1wd", "2025-03-11T17:30:00+08:00"},      /* evening: Tuesday */
        {"2025-03-08T10:00", "1wd", "2025-03-11T17:30:00+08:00"},      /* Saturday: Tuesday */
        {"2025-03-08T10:00", "1wd+next", "2025-03-10T17:30:00+08:00"}, /* +next: Monday */
        {"2025-03-10T23:59", "1d+next", "2025-03-12T00:00:00+08:00"},
        {"2025-01-24T10:00", "3d", "2025-01-27T10:00:00+08:00"},
        {"2025-01-24T10:00", "72h", "2025-01-27T10:00:00+08:00"},
        {"2025-03-10T10:00", "4wh", "2025-03-10T16:00:00+08:00"}, /* across lunch */
        {"2025-03-10T10:00", "2wh", "2025-03-10T12:00:00+08:00"}, /* ends at a close */
        {"2025-03-10T10:00", "13wd+next", "2025-03-27T17:30:00+08:00"},
        {"2025-01-24T02:00:00Z", "5wd", "2025-02-07T17:30:00+08:00"}, /* an offset */
    };
    char err[CTL_DUE_ERR_MAX], tmp[] = "/tmp/rexian-due-XXXXXX";
    ctl_due_t d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&d, 0, sizeof(d));
        CHECK_INT(due(cases[i].from, cases[i].span, &d, err), 0);
        CHECK_STR(d.due, cases[i].want);
        CHECK_INT(d.provisional, 0);
        CHECK_INT(d.missing_year, 0);
    }
    CHECK_INT(due("2025-03-10T10:00", "13wd+next", &d, err), 0);
    CHECK_STR(d.span, "13wd+next");
    CHECK_STR(d.from, "2025-03-10T10:00:00+08:00");
    CHECK(d.due_ms - d.from_ms == (int64_t)(17 * 86400 + 7 * 3600 + 1800) * 1000);

    /* a year without a file: Monday to Friday, and said to be provisional */
    CHECK_INT(due("2027-03-01T09:00", "5wd", &d, err), 0);
    CHECK_STR(d.due, "2027-03-08T17:30:00+08:00");
    CHECK_INT(d.provisional, 1);
    CHECK_INT(d.missing_year, 2027);
    CHECK_INT(due("2026-12-30T09:00", "5wd", &d, err), 0); /* runs into 2027 */
    CHECK_INT(d.provisional, 1);
    CHECK_INT(d.missing_year, 2027);

    /* bad input: nothing computed, and the message says what is allowed */
    memset(&d, 0x5a, sizeof(d));
    CHECK_INT(due("2025-02-30T10:00", "5wd", &d, err), -EINVAL);
    CHECK(strstr(err, "--from '2025-02-30T10:00'") != NULL && strstr(err, "2025-01-24T10:00"));
    CHECK_INT(d.provisional, 0x5a5a5a5a);
    CHECK_INT(due("next monday", "5wd", &d, err), -EINVAL);
    CHECK_INT(due("2025-01-24T10:00", "5 wd", &d, err), -EINVAL);
    CHECK(strstr(err, "--add '5 wd' is not a span") != NULL && strstr(err, "13wd+next") != NULL);
    CHECK_INT(due("2025-01-24T10:00", "251wd", &d, err), -EINVAL);
    CHECK(strstr(err, "counts too few or too many") != NULL && strstr(err, "1-250") != NULL);
    CHECK_INT(due("2025-01-24T10:00", "0h", &d, err), -EINVAL);
    CHECK_INT(due("2100-12-31T10:00", "5wd", &d, err), -ERANGE);

    /* a folder without a calendar, or none at all */
    CHECK(mkdtemp(tmp) != NULL);
    CHECK_INT(ctl_due_compute(tmp, "2025-01-24T10:00", "5wd", &d, err), -ENOENT);
    CHECK(strstr(err, "has no calendar") != NULL && strstr(err, "--calendar") != NULL);
    rmdir(tmp);
    CHECK_INT(ctl_due_compute(tmp, "2025-01-24T10:00", "5wd", &d, err), -EIO);
    CHECK(strstr(err, "cannot open the calendar directory") != NULL);

    /* where the calendar is looked for */
    CHECK_STR(ctl_due_dir("/a", "/b"), "/a");
    CHECK_STR(ctl_due_dir(NULL, "/b"), "/b");
    CHECK_STR(ctl_due_dir(NULL, ""), CTL_DUE_DEFAULT_DIR);
    CHECK_STR(ctl_due_dir(NULL, NULL), "deploy/calendar");
}

static void test_deadletters_args(void)
{
    static const char id96[] = "BX-20250124-000007:unit.new_order:urban-management:2:"
                               "0123456789012345678901234567890123456789xxx";
    char err[CTL_ERR_MAX], id97[100], reason_ok[CTL_DL_REASON_MAX + 1],
        reason_big[CTL_DL_REASON_MAX + 2];
    ctl_args_t a;
    char *list[] = {"rexianctl", "deadletters", "list"};
    char *list_stage[] = {"rexianctl", "deadletters", "list", "--stage=notifier"};
    char *show[] = {"rexianctl", "deadletters", "show", "notifier", "BX-1:unit.new_order:u:2"};
    char *retry[] = {"rexianctl", "deadletters", "retry", "router", "BX-1:dispatched:3"};
    char *drop[] = {"rexianctl", "deadletters", "drop", "--reason", "已电话告知", "watcher",
                    "BX-1:clock:ack"};
    char *long_id[] = {"rexianctl", "deadletters", "show", "notifier", (char *)id96};
    char *too_long_id[] = {"rexianctl", "deadletters", "show", "notifier", id97};
    char *drop_ok[] = {"rexianctl", "deadletters", "drop", "notifier", "X", "--reason",
                       reason_ok};
    char *drop_big[] = {"rexianctl", "deadletters", "drop", "notifier", "X", "--reason",
                        reason_big};
    char *help1[] = {"rexianctl", "deadletters", "--help"};
    char *help2[] = {"rexianctl", "help", "deadletters"};
    char *help3[] = {"rexianctl", "deadletters", "drop", "notifier", "--help"};
    /* each bad line and what its error must say */
    static const struct {
        const char *argv[8]; /* NULL-terminated */
        const char *want[2]; /* words of the error (NULL when fewer) */
    } bad[] = {
        {{"deadletters", NULL}, {"needs an action", "list"}},
        {{"deadletters", "purge", NULL}, {"no action 'purge'", "retry"}},
        {{"deadletters", "list", "notifier", NULL}, {"'notifier'", "--stage"}},
        {{"deadletters", "list", "--stage", "intake", NULL},
         {"--stage 'intake'", "router, watcher, notifier"}},
        {{"deadletters", "show", "intake", "X", NULL}, {"STAGE 'intake'", "router"}},
        {{"deadletters", "show", NULL}, {"show needs STAGE ID", "deadletters show notifier"}},
        {{"deadletters", "retry", "notifier", NULL}, {"retry needs ID", NULL}},
        {{"deadletters", "drop", "notifier", "X", NULL}, {"drop needs --reason", "audit"}},
        {{"deadletters", "retry", "notifier", "X", "--reason", "r", NULL},
         {"--reason goes with deadletters drop", NULL}},
        {{"deadletters", "show", "notifier", "X", "--stage", "router", NULL},
         {"--stage goes with deadletters list", "STAGE ID"}},
        {{"deadletters", "retry", "notifier", "X", "Y", NULL}, {"'Y' is one too many", NULL}},
        {{"deadletters", "drop", "notifier", "X", "--reason", "", NULL}, {"non-empty", NULL}},
        {{"deadletters", "show", "notifier", "a/b", NULL}, {"'/'", NULL}},
        {{"deadletters", "show", "notifier", "a\tb", NULL}, {"control character", NULL}},
        {{"deadletters", "list", "--json", NULL}, {"global option", NULL}},
        {{"deadletters", "list", "--unit", "x", NULL}, {"no option '--unit'", "--stage"}},
    };

    memset(id97, 'x', 97);
    id97[97] = '\0';
    memset(reason_ok, 'r', CTL_DL_REASON_MAX);
    reason_ok[CTL_DL_REASON_MAX] = '\0';
    memset(reason_big, 'r', CTL_DL_REASON_MAX + 1);
    reason_big[CTL_DL_REASON_MAX + 1] = '\0';

    CHECK_INT(parse(ARGC(list), list, NULL, NULL, &a, err), 0);
    CHECK(a.cmd == CTL_CMD_DEADLETTERS && a.dl_action == CTL_DL_LIST);
    CHECK(a.only_stage == NULL && a.stage == NULL && a.id == NULL);
    CHECK_INT(parse(ARGC(list_stage), list_stage, NULL, NULL, &a, err), 0);
    CHECK_STR(a.only_stage, "notifier");
    CHECK_INT(parse(ARGC(show), show, NULL, NULL, &a, err), 0);
    CHECK(a.dl_action == CTL_DL_SHOW);
    CHECK_STR(a.stage, "notifier");
    CHECK_STR(a.id, "BX-1:unit.new_order:u:2");
    CHECK_INT(parse(ARGC(retry), retry, NULL, NULL, &a, err), 0);
    CHECK(a.dl_action == CTL_DL_RETRY && a.reason == NULL);
    CHECK_STR(a.stage, "router");
    CHECK_STR(a.id, "BX-1:dispatched:3");
    /* options may come before the words */
    CHECK_INT(parse(ARGC(drop), drop, NULL, NULL, &a, err), 0);
    CHECK(a.dl_action == CTL_DL_DROP);
    CHECK_STR(a.stage, "watcher");
    CHECK_STR(a.id, "BX-1:clock:ack");
    CHECK_STR(a.reason, "已电话告知");
    CHECK_STR(ctl_args_dl_action_name(a.dl_action), "drop");
    CHECK_STR(ctl_args_dl_action_name(CTL_DL_RETRY), "retry");
    CHECK_STR(ctl_args_dl_action_name(CTL_DL_NONE), "");

    /* the limits: an id of 96 bytes and a reason of 1000 pass, one byte more does not */
    CHECK_INT((int)strlen(id96), CTL_DL_ID_MAX);
    CHECK_INT(parse(ARGC(long_id), long_id, NULL, NULL, &a, err), 0);
    CHECK_STR(a.id, id96);
    CHECK_INT(parse(ARGC(too_long_id), too_long_id, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "97 bytes; at most 96") != NULL);
    CHECK_INT(parse(ARGC(drop_ok), drop_ok, NULL, NULL, &a, err), 0);
    CHECK_INT(parse(ARGC(drop_big), drop_big, NULL, NULL, &a, err), -EINVAL);
    CHECK(strstr(err, "--reason is 1001 bytes; at most 1000") != NULL);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[10] = {"rexianctl"};
        int argc = 1;
        for (; bad[i].argv[argc - 1] != NULL; argc++)
            argv[argc] = (char *)bad[i].argv[argc - 1];
        memset(&a, 0x5a, sizeof(a));
        CHECK_INT(parse(argc, argv, NULL, NULL, &a, err), -EINVAL);
        CHECK(a.dl_action == (ctl_dl_action_t)0x5a5a5a5a); /* untouched on failure */
        for (int k = 0; k < 2; k++) {
            if (bad[i].want[k] != NULL && strstr(err, bad[i].want[k]) == NULL) {
                fprintf(stderr, "case %zu: error %s lacks '%s'\n", i, err, bad[i].want[k]);
                CHECK(0);
            }
        }
    }

    CHECK_INT(parse(ARGC(help1), help1, NULL, NULL, &a, err), 0);
    CHECK(a.help && a.cmd == CTL_CMD_DEADLETTERS);
    CHECK_INT(parse(ARGC(help2), help2, NULL, NULL, &a, err), 0);
    CHECK(a.help && a.cmd == CTL_CMD_DEADLETTERS);
    CHECK_INT(parse(ARGC(help3), help3, NULL, NULL, &a, err), 0); /* beats the missing ID */
    CHECK(a.help && a.cmd == CTL_CMD_DEADLETTERS);
    const char *h = ctl_args_help(CTL_CMD_DEADLETTERS);
    CHECK(strstr(h, "deadletters list [--stage S]") != NULL);
    CHECK(strstr(h, "deadletters show STAGE ID") != NULL);
    CHECK(strstr(h, "deadletters retry STAGE ID") != NULL);
    CHECK(strstr(h, "deadletters drop STAGE ID --reason TEXT") != NULL);
    CHECK(strstr(h, "router, watcher or notifier") != NULL);
    CHECK(strstr(ctl_args_help(CTL_CMD_NONE), "deadletters") != NULL);
    /* a dead-letter command is not a step of an order's life */
    CHECK(!ctl_args_is_step(CTL_CMD_DEADLETTERS));
}

static void test_deadletters_view(void)
{
    /* as the server answers: hash order, times in ms, a router record without a ticket */
    json_t *list = json_loads(
        "{\"count\":3,\"items\":["
        "{\"error\":\"not applied after 5 redeliveries\",\"attempts\":5,"
        "\"at\":1737680400000,\"stage\":\"router\",\"id\":\"BX-20250124-000003:route\"},"
        "{\"error\":\"HTTP 500 from hooks.example\\nretry later\","
        "\"attempts\":2,\"at\":1737687600000,\"ticket\":\"BX-20250124-000007\","
        "\"stage\":\"notifier\","
        "\"id\":\"BX-20250124-000007:unit.new_order:urban-management-and-city-appearance:2\"},"
        "{\"error\":\"HTTP 503 Service Unavailable from https://hooks.example/town-chengguan "
        "after waiting for the whole timeout\",\"attempts\":12,\"at\":1737684000000,"
        "\"ticket\":\"BX-20250124-000005\",\"stage\":\"notifier\","
        "\"id\":\"BX-20250124-000005:citizen.accepted\"}]}", 0, NULL);
    json_t *none = json_loads("{\"count\":0,\"items\":[]}", 0, NULL);
    json_t *one = json_loads(
        "{\"stage\":\"notifier\",\"id\":\"BX-20250124-000007:unit.new_order:u:2\","
        "\"record\":{\"error\":\"HTTP 500 from https://hooks.example/urban\",\"attempts\":2,"
        "\"at\":1737687600000,\"ticket\":\"BX-20250124-000007\"},"
        "\"message\":{\"v\":1,\"type\":\"notify\",\"id\":\"BX-20250124-000007:unit.new_order:u:2\","
        "\"ts\":1737684000000,\"src\":\"intake@h/1\",\"tier\":\"bx\","
        "\"body\":{\"kind\":\"unit.new_order\",\"target\":\"urban-management\","
        "\"summary\":\"路灯坏了\\u202e一个月\",\"co_units\":[\"a\",\"b\"]}}}", 0, NULL);
    json_t *unreadable = json_loads(
        "{\"stage\":\"router\",\"id\":\"r1\",\"record\":{\"error\":\"e\",\"attempts\":5,"
        "\"at\":1737684000000},\"message\":{\"error\":\"the message is not readable\"}}",
        0, NULL);
    json_t *retried = json_loads("{\"stage\":\"notifier\",\"id\":\"BX-1:x\",\"done\":\"retry\"}",
                                 0, NULL);
    json_t *dropped = json_loads("{\"stage\":\"watcher\",\"id\":\"BX-1:y\",\"done\":\"drop\"}",
                                 0, NULL);
    char w[32][64];
    const char *l;
    out_t o;

    CHECK(list != NULL && none != NULL && one != NULL && unreadable != NULL &&
          retried != NULL && dropped != NULL);
    out_open(&o);
    CHECK_INT(ctl_dl_list(o.f, list), 0);
    out_close(&o);
    CHECK(starts(o.text, "STAGE     ID"));
    /* newest first, whatever order the server gave */
    const char *p7 = strstr(o.text, "BX-20250124-000007:"), *p5 = strstr(o.text, "000005:"),
               *p3 = strstr(o.text, "000003:");
    CHECK(p7 != NULL && p5 != NULL && p3 != NULL && p7 < p5 && p5 < p3);
    /* the id is whole (it is what show, retry and drop take); the error's line break is a
     * space */
    CHECK_INT(words_of(o.text, "urban-management-and-city-appearance:2", w), 12);
    CHECK_STR(w[0], "notifier");
    l = line_with(o.text, "urban-management-and-city-appearance:2");
    CHECK(l != NULL && strstr(l, "  BX-20250124-000007:unit.new_order:urban-management-and-city-"
                                 "appearance:2  BX-20250124-000007  ") != NULL);
    CHECK_STR(w[2], "BX-20250124-000007");
    CHECK_STR(w[3], "2");
    CHECK_STR(w[8], "retry");
    CHECK_STR(w[10], "2025-01-24");
    CHECK_STR(w[11], "11:00:00");
    /* the router's record has no ticket: its column stays empty, the rest stays aligned */
    CHECK_INT(words_of(o.text, "000003:route", w), 10);
    CHECK_STR(w[0], "router");
    CHECK_STR(w[2], "5");
    CHECK_INT(column_of(o.text, "not applied"), column_of(o.text, "LAST ERROR"));
    CHECK_INT(column_of(o.text, "HTTP 500"), column_of(o.text, "LAST ERROR"));
    /* attempts align on their last digit */
    CHECK_INT(column_of(o.text, " 12 ") + 3, column_of(o.text, "ATTEMPTS") + 8);
    CHECK_INT(column_of(o.text, " 5  ") + 2, column_of(o.text, "ATTEMPTS") + 8);
    /* a long error is cut; show has it whole */
    l = line_with(o.text, "citizen.accepted");
    CHECK(l != NULL && strstr(l, "…") != NULL && strstr(l, "whole timeout") == NULL);
    CHECK(l != NULL && strstr(l, "2025-01-24 10:00:00") != NULL);
    CHECK(strstr(o.text, "\n3 dead letters\n") != NULL);
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_dl_list(o.f, none), 0);
    CHECK_INT(ctl_dl_list(o.f, one), -EINVAL);
    out_close(&o);
    CHECK_STR(o.text, "0 dead letters\n");
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_dl_show(o.f, one), 0);
    out_close(&o);
    CHECK(starts(o.text, "stage       notifier\n"
                         "id          BX-20250124-000007:unit.new_order:u:2\n"
                         "ticket      BX-20250124-000007\n"
                         "attempts    2\n"
                         "dead since  2025-01-24 11:00:00\n"
                         "last error  HTTP 500 from https://hooks.example/urban\n"
                         "\n"
                         "message     notify\n"));
    CHECK(line_with(o.text, "from        intake@h/1") != NULL);
    CHECK(line_with(o.text, "tier        bx") != NULL);
    CHECK(line_with(o.text, "sent        2025-01-24 10:00:00") != NULL);
    CHECK(line_with(o.text, "version     1") != NULL);
    /* the body pretty-printed under "body", Chinese as it is, a bidirectional override not */
    CHECK(strstr(o.text, "\nbody\n  {\n    \"kind\": \"unit.new_order\",\n") != NULL);
    CHECK(line_with(o.text, "    \"summary\": \"路灯坏了?一个月\",") != NULL);
    CHECK(strstr(o.text, "\xe2\x80\xae") == NULL);
    CHECK(strstr(o.text, "\n    \"co_units\": [\n      \"a\",\n      \"b\"\n    ]\n  }\n") !=
          NULL);
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_dl_show(o.f, unreadable), 0);
    CHECK_INT(ctl_dl_show(o.f, list), -EINVAL);
    out_close(&o);
    CHECK(line_with(o.text, "message     the message is not readable") != NULL);
    CHECK(line_with(o.text, "ticket") == NULL);
    free(o.text);

    out_open(&o);
    CHECK_INT(ctl_dl_done(o.f, retried, "retry"), 0);
    CHECK_INT(ctl_dl_done(o.f, dropped, "drop"), 0);
    CHECK_INT(ctl_dl_done(o.f, dropped, "retry"), -EINVAL);
    CHECK_INT(ctl_dl_done(o.f, one, "retry"), -EINVAL);
    out_close(&o);
    CHECK_STR(o.text, "notifier BX-1:x retried\nwatcher BX-1:y dropped\n");
    free(o.text);

    json_decref(list);
    json_decref(none);
    json_decref(one);
    json_decref(unreadable);
    json_decref(retried);
    json_decref(dropped);
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
    test_new_steps_values();
    test_metrics_args();
    test_report_claims_overdue_due_args();
    test_metrics_view();
    test_circular();
    test_recompute_orders_view();
    test_claims_overdue_view();
    test_ticket_view_claims();
    test_due();
    test_deadletters_args();
    test_deadletters_view();
    return check_done();
}

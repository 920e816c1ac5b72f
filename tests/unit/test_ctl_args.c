/* test_ctl_args.c -- rexianctl's command line (options, defaults, usage errors, help) and what
 * it prints (ticket page, list table, error lines, terminal safety, Chinese alignment). */
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
    for (ctl_cmd_t c = CTL_CMD_PING; c <= CTL_CMD_LIST; c++) {
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
    test_global_errors();
    test_help();
    test_width_and_cells();
    test_error_line();
    test_list_view();
    test_ticket_view();
    test_health();
    return check_done();
}

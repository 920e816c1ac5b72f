/* loadgen.c -- scripts/bench's load generator: POSTs tickets to intake at full speed */
/*
 * C keep-alive HTTP/1.1 connections, one request in flight on each, driven by one epoll loop.
 * Every ticket carries its own idempotency key, so a request cut off by a dropped connection or
 * answered 503 is sent again safely and still yields exactly one ticket. Per ticket it records
 * the first POST's send time and the answer's time (CLOCK_REALTIME, nanoseconds: the sink
 * stamps webhooks with the same clock) and the ticket id, one TSV line each, and prints a
 * one-line JSON summary on stdout.
 *
 *   rexian-bench-loadgen --port PORT --token TOKEN [--host 127.0.0.1] [--tickets 20000]
 *                        [--concurrency 64] [--out FILE] [--run-id TEXT]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_TICKETS 10000000 /* tickets per run */
#define LG_MAX_CONNS 1024       /* connections (intake accepts 2000) */
#define LG_REQ_MAX 4096         /* bytes of one request */
#define LG_RESP_MAX 16384       /* bytes of one answer, headers and body */
#define LG_MAX_ATTEMPTS 100     /* POSTs of one ticket before it counts as an error */
#define LG_RETRY_MS 20          /* wait after a 503 before sending again */
#define LG_TOKEN_MAX 256        /* bytes of the bearer token */
#define LG_RUN_ID_MAX 32        /* bytes of the run id in idempotency keys */

/* Requests a 12345 operator types in; varied so the router's catalogue does real work. */
static const struct {
    const char *text;    /* what the caller said */
    const char *address; /* where, "" when not given */
} lg_texts[] = {
    {"来电人反映：城关镇人民路和建设街交叉口的路灯坏了一个多月，晚上黑漆漆的，老人孩子走路害怕，"
     "希望尽快修好。", "城关镇人民路"},
    {"来电人反映：幸福小区门口的人行道上有人占道经营卖菜，垃圾扔得到处都是，早上六点就开始吆喝，"
     "影响居民休息。", "城关镇幸福小区"},
    {"来电人反映：他在县城一家装修公司干了三个月活，老板一直拖欠工资一万二千元不给，"
     "打电话也不接，请求帮助讨薪。", ""},
    {"来电人反映：家里从昨天下午开始停水，到现在还没来水，也没有看到停水通知，"
     "请自来水公司查一下什么原因。", "西关街道团结路18号"},
    {"来电人反映：在超市买的牛奶还没过保质期就已经变质结块了，找超市退货超市不给退，"
     "要求市场监管部门处理。", "东关镇华联超市"},
    {"来电人咨询：孩子今年九月上小学，户口在外地，父母在县城打工有居住证，"
     "想了解入学需要准备哪些材料，到哪里报名。", ""},
    {"来电人反映：小区里有一栋楼在楼顶私自加盖了一层彩钢房，怕影响房屋安全，"
     "要求相关部门查处违法建设。", "城关镇锦绣花园"},
    {"来电人反映：县城开往贾镇的公交车经常不按时发车，一等就是一个小时，"
     "司机态度也不好，希望交通部门管一管。", ""},
    {"来电人反映：家里宽带这周断了三次，打客服电话报修两天了都没人上门，"
     "孩子上网课受影响。", "南湖镇南湖新村"},
    {"来电人反映：小区旁边的工厂晚上偷偷排放废气，味道刺鼻，窗户都不敢开，"
     "怀疑污染环境，请环保部门查一查。", "北山镇工业园"},
    {"来电人咨询：退休人员养老金资格认证每年什么时候做，能不能在手机上办，"
     "老人不会用智能手机怎么办。", ""},
    {"来电人反映：家里这个月电费比平时高了三倍，怀疑电表有问题，"
     "想申请校验电表，请供电公司核实。", "李庄镇李庄村"},
    {"来电人反映：冬天到了暖气一直不热，屋里只有十几度，交了取暖费，"
     "找热力公司没有结果。", "城关镇文化路26号院"},
    {"来电人反映：村里的主路坑坑洼洼好几个大坑，下雨天积水，电动车摔倒好几次，"
     "希望修一修路面。", "王集镇王集村"},
    {"来电人反映：楼下餐馆的油烟管道直接对着居民窗户排，油烟很大，"
     "家里的衣服都不能晾，多次沟通没有效果。", "西关街道中山路"},
    {"来电人咨询：想给刚出生的孩子办理医保，需要带哪些材料，在哪里办，"
     "能不能在网上直接办理。", ""},
    {"来电人反映：邻居家养的狗天天晚上叫，已经好几个月了，上门沟通过几次，"
     "对方不理，希望村里帮忙调解。", "河口镇河口村"},
    {"来电人反映：在网上买了一台洗衣机，商家承诺七天无理由退货，现在拒绝退款，"
     "要求维护消费者权益。", ""},
    {"来电人反映：小区物业不作为，电梯坏了半个月没人修，楼道里的垃圾也没人清理，"
     "业主意见很大。", "城关镇阳光家园"},
    {"来电人咨询：身份证快到期了，换领新身份证需要准备什么，人在外地能不能异地办理。", ""},
    {"来电人反映：路边的井盖丢了一个，晚上看不清很危险，已经有人差点掉进去，"
     "请尽快处理。", "东关镇建设路与和平路交叉口"},
    {"来电人反映：学校附近的小卖部向中小学生卖烟和辣条，担心孩子们的健康，"
     "希望有关部门管理。", "石桥镇中心小学"},
    {"来电人反映：村里有人占用耕地盖房子，已经打了地基，村干部说管不了，"
     "请求自然资源部门制止。", "青龙镇青龙村"},
    {"来电人反映：单位没有给他缴纳社保，已经工作两年了，"
     "要求单位补缴社会保险。", ""},
};
#define LG_N_TEXTS (sizeof(lg_texts) / sizeof(lg_texts[0]))

typedef struct lg_ticket_t {
    int64_t send_ns;   /* first POST of this ticket (CLOCK_REALTIME), 0 before */
    int64_t accept_ns; /* when its 201/200 answer was read, 0 when none */
    int status;        /* last HTTP status seen, 0 = none, -1 = connection failures */
    int attempts;      /* POSTs made */
    char id[48];       /* ticket id from the answer, "" when none */
} lg_ticket_t;

typedef enum lg_state_t {
    LG_CLOSED,     /* no socket */
    LG_CONNECTING, /* non-blocking connect under way */
    LG_SENDING,    /* writing the request */
    LG_READING,    /* reading the answer */
    LG_WAITING,    /* answered 503: resend after retry_at_ns */
    LG_DONE,       /* no ticket left for it */
} lg_state_t;

typedef struct lg_conn_t {
    int fd;               /* socket or -1 */
    lg_state_t state;     /* where it is */
    long ticket;          /* ticket in flight, -1 none */
    char req[LG_REQ_MAX]; /* the request being sent */
    size_t req_len;       /* its length */
    size_t req_off;       /* bytes written */
    char resp[LG_RESP_MAX + 1]; /* the answer read so far, NUL-terminated */
    size_t resp_len;      /* bytes read */
    int64_t retry_at_ns;  /* LG_WAITING: when to send again */
} lg_conn_t;

typedef struct lg_t {
    struct sockaddr_in addr; /* intake */
    char host[64];           /* for the Host header */
    char token[LG_TOKEN_MAX + 1]; /* bearer token */
    char run_id[LG_RUN_ID_MAX + 1]; /* makes idempotency keys unique per run */
    long n_tickets;          /* to send */
    int n_conns;             /* connections */
    const char *out;         /* TSV path or NULL */
    lg_ticket_t *tickets;    /* per ticket */
    lg_conn_t *conns;        /* per connection */
    long *retry;             /* tickets to send again after a dropped connection (stack) */
    long n_retry;            /* entries in retry */
    long next;               /* next fresh ticket */
    long finished;           /* tickets accepted or given up */
    int epfd;                /* epoll */
    long accepted;           /* answered 201 or 200 with a ticket id */
    long replayed;           /* of those, 200: an earlier attempt had created it */
    long errors;             /* given up: another status, or LG_MAX_ATTEMPTS reached */
    long retries_503;        /* answers "saturated, retry" */
    long reconnects;         /* connections dropped and made again */
    long connect_failures;   /* connects that failed */
} lg_t;

static int64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t lg_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ------------------------------------------------------------------------------------------
 * Connections */

static void lg_watch(lg_t *lg, lg_conn_t *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(lg->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void lg_close(lg_t *lg, lg_conn_t *c)
{
    if (c->fd >= 0) {
        epoll_ctl(lg->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = LG_CLOSED;
    c->resp_len = 0;
}

static int lg_connect(lg_t *lg, lg_conn_t *c)
{
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&lg->addr, sizeof(lg->addr)) != 0 &&
        errno != EINPROGRESS) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        return -e;
    }
    c->state = LG_CONNECTING;
    c->resp_len = 0;
    if (epoll_ctl(lg->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        return -e;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Tickets */

static void lg_finish(lg_t *lg, long t, int ok)
{
    if (ok)
        lg->accepted++;
    else
        lg->errors++;
    lg->finished++;
}

/* A ticket the connection lost: send it again (its idempotency key makes that safe). */
static void lg_requeue(lg_t *lg, long t)
{
    if (lg->tickets[t].attempts >= LG_MAX_ATTEMPTS) {
        lg->tickets[t].status = lg->tickets[t].status > 0 ? lg->tickets[t].status : -1;
        lg_finish(lg, t, 0);
        return;
    }
    lg->retry[lg->n_retry++] = t;
}

static long lg_take(lg_t *lg)
{
    if (lg->n_retry > 0)
        return lg->retry[--lg->n_retry];
    if (lg->next < lg->n_tickets)
        return lg->next++;
    return -1;
}

static void lg_build(lg_t *lg, lg_conn_t *c, long t)
{
    char body[LG_REQ_MAX / 2];
    size_t k = (size_t)t % LG_N_TEXTS;
    int blen, n;

    blen = snprintf(body, sizeof(body),
                    "{\"channel\":\"phone\",\"caller\":{\"phone\":\"139%08ld\"},\"text\":\"%s\","
                    "\"address\":\"%s\",\"idempotency_key\":\"bench-%s-%ld\"}",
                    t % 100000000L, lg_texts[k].text, lg_texts[k].address, lg->run_id, t);
    n = snprintf(c->req, sizeof(c->req),
                 "POST /v1/tickets HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                 lg->host, lg->token, blen, body);
    c->req_len = (size_t)n;
    c->req_off = 0;
}

/* Starts (or restarts) the connection's next request; closes it when none is left. */
static void lg_start(lg_t *lg, lg_conn_t *c, long t)
{
    lg_ticket_t *tk;

    if (t < 0)
        t = lg_take(lg);
    if (t < 0) {
        c->ticket = -1;
        lg_close(lg, c);
        c->state = LG_DONE;
        return;
    }
    c->ticket = t;
    tk = &lg->tickets[t];
    lg_build(lg, c, t);
    tk->attempts++;
    if (tk->send_ns == 0)
        tk->send_ns = lg_now_ns();
    c->state = LG_SENDING;
    c->resp_len = 0;
    lg_watch(lg, c, EPOLLOUT);
}

/* The connection broke: its ticket goes back, and it connects afresh. */
static void lg_broken(lg_t *lg, lg_conn_t *c)
{
    int rc;

    lg_close(lg, c);
    if (c->ticket >= 0) {
        lg_requeue(lg, c->ticket);
        c->ticket = -1;
    }
    lg->reconnects++;
    if (lg->finished >= lg->n_tickets || (lg->n_retry == 0 && lg->next >= lg->n_tickets)) {
        c->state = LG_DONE;
        return;
    }
    if ((rc = lg_connect(lg, c)) != 0) {
        lg->connect_failures++;
        c->state = LG_CLOSED; /* tried again from the main loop */
    }
}

/* ------------------------------------------------------------------------------------------
 * Answers */

/* Finds a header's value in the header block (case-insensitive name). */
static const char *lg_header(const char *head, const char *end, const char *name, size_t *len)
{
    size_t nl = strlen(name);

    for (const char *p = strstr(head, "\r\n"); p != NULL && p < end; p = strstr(p, "\r\n")) {
        p += 2;
        if ((size_t)(end - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e;
            while (*v == ' ' || *v == '\t')
                v++;
            e = strstr(v, "\r\n");
            *len = (size_t)((e != NULL ? e : end) - v);
            return v;
        }
    }
    return NULL;
}

/* Returns 1 when a whole answer was handled, 0 when more bytes are needed, -1 when the
 * answer cannot be read (the connection is then dropped). */
static int lg_parse(lg_t *lg, lg_conn_t *c)
{
    char *eoh = strstr(c->resp, "\r\n\r\n");
    const char *v;
    size_t vlen, total;
    long clen;
    int status, keep = 1;
    lg_ticket_t *tk;

    if (eoh == NULL)
        return c->resp_len >= LG_RESP_MAX ? -1 : 0;
    if (sscanf(c->resp, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    v = lg_header(c->resp, eoh + 2, "Content-Length", &vlen);
    if (v == NULL)
        return -1;
    clen = strtol(v, NULL, 10);
    if (clen < 0 || (size_t)clen > LG_RESP_MAX)
        return -1;
    total = (size_t)(eoh + 4 - c->resp) + (size_t)clen;
    if (total > LG_RESP_MAX)
        return -1;
    if (c->resp_len < total)
        return 0;
    if (c->resp_len > total)
        return -1; /* one request in flight: nothing may follow its answer */
    v = lg_header(c->resp, eoh + 2, "Connection", &vlen);
    if (v != NULL && vlen >= 5 && strncasecmp(v, "close", 5) == 0)
        keep = 0;
    tk = &lg->tickets[c->ticket];
    tk->status = status;
    if (status == 201 || status == 200) {
        const char *id = strstr(eoh + 4, "\"id\":\"");
        const char *q = id != NULL ? strchr(id + 6, '"') : NULL;
        tk->accept_ns = lg_now_ns();
        if (q != NULL && (size_t)(q - id - 6) < sizeof(tk->id))
            snprintf(tk->id, sizeof(tk->id), "%.*s", (int)(q - id - 6), id + 6);
        if (status == 200)
            lg->replayed++;
        lg_finish(lg, c->ticket, tk->id[0] != '\0');
        c->ticket = -1;
    } else if (status == 503 && tk->attempts < LG_MAX_ATTEMPTS) {
        lg->retries_503++;
        c->state = LG_WAITING;
        c->retry_at_ns = lg_mono_ns() + LG_RETRY_MS * 1000000LL;
    } else {
        if (lg->errors < 5)
            fprintf(stderr, "loadgen: ticket %ld: HTTP %d: %.200s\n", c->ticket, status,
                    eoh + 4);
        lg_finish(lg, c->ticket, 0);
        c->ticket = -1;
    }
    c->resp_len = 0;
    if (!keep) {
        lg_broken(lg, c); /* requeues a ticket answered 503, reconnects */
        return 1;
    }
    if (c->state != LG_WAITING)
        lg_start(lg, c, -1);
    else
        lg_watch(lg, c, 0);
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * The loop */

static void lg_on_event(lg_t *lg, lg_conn_t *c, uint32_t events)
{
    if (c->state == LG_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            lg->connect_failures++;
            lg_close(lg, c);
            return; /* retried from the main loop */
        }
        lg_start(lg, c, c->ticket >= 0 ? c->ticket : -1);
        return;
    }
    if (c->state == LG_SENDING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        while (c->req_off < c->req_len) {
            ssize_t n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n <= 0) {
                lg_broken(lg, c);
                return;
            }
            c->req_off += (size_t)n;
        }
        c->state = LG_READING;
        lg_watch(lg, c, EPOLLIN);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        for (;;) {
            ssize_t n = recv(c->fd, c->resp + c->resp_len, LG_RESP_MAX - c->resp_len, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n <= 0 || c->state != LG_READING) {
                lg_broken(lg, c); /* closed by the server, or bytes nobody asked for */
                return;
            }
            c->resp_len += (size_t)n;
            c->resp[c->resp_len] = '\0';
            int rc = lg_parse(lg, c);
            if (rc < 0) {
                lg_broken(lg, c);
                return;
            }
            if (rc > 0)
                return;
        }
    }
}

static int lg_run(lg_t *lg)
{
    struct epoll_event evs[256];

    for (int i = 0; i < lg->n_conns; i++) {
        lg->conns[i].fd = -1;
        lg->conns[i].ticket = -1;
        if (lg_connect(lg, &lg->conns[i]) != 0) {
            fprintf(stderr, "loadgen: cannot connect to intake: %s\n", strerror(errno));
            return -1;
        }
    }
    while (lg->finished < lg->n_tickets) {
        int64_t now = lg_mono_ns();
        int timeout = 1000, n, live = 0;

        for (int i = 0; i < lg->n_conns; i++) {
            lg_conn_t *c = &lg->conns[i];
            if (c->state == LG_WAITING) {
                if (c->retry_at_ns <= now) {
                    lg_start(lg, c, c->ticket);
                } else {
                    int ms = (int)((c->retry_at_ns - now) / 1000000) + 1;
                    timeout = ms < timeout ? ms : timeout;
                }
            } else if (c->state == LG_CLOSED &&
                       (lg->n_retry > 0 || lg->next < lg->n_tickets)) {
                if (lg_connect(lg, c) != 0) {
                    lg->connect_failures++;
                    timeout = 10;
                }
            }
            live += c->state != LG_DONE && c->state != LG_CLOSED;
        }
        if (lg->connect_failures > 1000) {
            fprintf(stderr, "loadgen: intake refuses connections (%ld failures); giving up\n",
                    lg->connect_failures);
            return -1;
        }
        if (live == 0 && lg->n_retry == 0 && lg->next >= lg->n_tickets)
            break;
        n = epoll_wait(lg->epfd, evs, 256, timeout);
        if (n < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n; i++)
            lg_on_event(lg, evs[i].data.ptr, evs[i].events);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Output */

static int lg_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int lg_write(const lg_t *lg)
{
    FILE *f;

    if (lg->out == NULL)
        return 0;
    if ((f = fopen(lg->out, "w")) == NULL) {
        fprintf(stderr, "loadgen: cannot write %s: %s\n", lg->out, strerror(errno));
        return -1;
    }
    fprintf(f, "# index\tticket\tsend_ns\taccept_ns\tstatus\tattempts\n");
    for (long i = 0; i < lg->n_tickets; i++) {
        const lg_ticket_t *t = &lg->tickets[i];
        fprintf(f, "%ld\t%s\t%lld\t%lld\t%d\t%d\n", i, t->id[0] ? t->id : "-",
                (long long)t->send_ns, (long long)t->accept_ns, t->status, t->attempts);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "loadgen: cannot write %s: %s\n", lg->out, strerror(errno));
        return -1;
    }
    return 0;
}

static void lg_summary(const lg_t *lg)
{
    int64_t first = INT64_MAX, last = 0;
    int64_t *lat = malloc(sizeof(int64_t) * (size_t)(lg->n_tickets > 0 ? lg->n_tickets : 1));
    long n = 0;
    double secs, cpu, p50 = 0, p99 = 0, max = 0;
    struct rusage ru;

    for (long i = 0; i < lg->n_tickets; i++) {
        const lg_ticket_t *t = &lg->tickets[i];
        if (t->send_ns > 0 && t->send_ns < first)
            first = t->send_ns;
        if (t->accept_ns > last)
            last = t->accept_ns;
        if (t->accept_ns > 0 && lat != NULL)
            lat[n++] = t->accept_ns - t->send_ns;
    }
    if (n > 0) {
        qsort(lat, (size_t)n, sizeof(int64_t), lg_cmp_i64);
        p50 = (double)lat[(n - 1) / 2] / 1e6;
        p99 = (double)lat[(long)((double)(n - 1) * 0.99)] / 1e6;
        max = (double)lat[n - 1] / 1e6;
    }
    free(lat);
    getrusage(RUSAGE_SELF, &ru);
    cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    secs = last > first ? (double)(last - first) / 1e9 : 0;
    printf("{\"tickets\":%ld,\"concurrency\":%d,\"accepted\":%ld,\"replayed\":%ld,\"errors\":%ld,"
           "\"retries_503\":%ld,\"reconnects\":%ld,\"connect_failures\":%ld,"
           "\"first_send_ns\":%lld,\"last_accept_ns\":%lld,\"seconds\":%.3f,"
           "\"accepted_per_s\":%.1f,\"accept_ms_p50\":%.2f,\"accept_ms_p99\":%.2f,"
           "\"accept_ms_max\":%.2f,\"cpu_s\":%.3f}\n",
           lg->n_tickets, lg->n_conns, lg->accepted, lg->replayed, lg->errors, lg->retries_503,
           lg->reconnects, lg->connect_failures, (long long)(first == INT64_MAX ? 0 : first),
           (long long)last, secs, secs > 0 ? (double)lg->accepted / secs : 0.0, p50, p99, max, cpu);
    fprintf(stderr, "loadgen: %ld accepted in %.2f s = %.0f tickets/s, %ld errors, %ld 503 "
            "retries, %ld reconnects; answer p50 %.1f ms p99 %.1f ms\n",
            lg->accepted, secs, secs > 0 ? (double)lg->accepted / secs : 0.0, lg->errors,
            lg->retries_503, lg->reconnects, p50, p99);
}

/* ------------------------------------------------------------------------------------------
 * Arguments */

static int lg_usage(const char *msg)
{
    if (msg != NULL)
        fprintf(stderr, "loadgen: %s\n", msg);
    fprintf(stderr, "usage: rexian-bench-loadgen --port PORT --token TOKEN [--host 127.0.0.1] "
            "[--tickets 1..%d] [--concurrency 1..%d] [--out FILE] [--run-id TEXT]\n",
            LG_MAX_TICKETS, LG_MAX_CONNS);
    return 2;
}

static int lg_long(const char *s, long min, long max, long *ret)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *ret = v;
    return 0;
}

int main(int argc, char **argv)
{
    lg_t lg = {.n_tickets = 20000, .n_conns = 64};
    long port = 0, v;
    const char *host = "127.0.0.1";
    int rc = 1;
    char msg[160];

    snprintf(lg.run_id, sizeof(lg.run_id), "%lld", (long long)(lg_now_ns() / 1000000));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL) {
            snprintf(msg, sizeof(msg), "%s needs a value", a);
            return lg_usage(msg);
        }
        i++;
        if (strcmp(a, "--host") == 0) {
            host = val;
        } else if (strcmp(a, "--port") == 0) {
            if (lg_long(val, 1, 65535, &port) != 0)
                return lg_usage("--port must be 1..65535");
        } else if (strcmp(a, "--token") == 0) {
            if (strlen(val) == 0 || strlen(val) > LG_TOKEN_MAX || strpbrk(val, "\r\n ") != NULL)
                return lg_usage("--token must be 1..256 bytes without spaces or line breaks");
            snprintf(lg.token, sizeof(lg.token), "%s", val);
        } else if (strcmp(a, "--tickets") == 0) {
            if (lg_long(val, 1, LG_MAX_TICKETS, &v) != 0)
                return lg_usage("--tickets is out of range");
            lg.n_tickets = v;
        } else if (strcmp(a, "--concurrency") == 0) {
            if (lg_long(val, 1, LG_MAX_CONNS, &v) != 0)
                return lg_usage("--concurrency is out of range");
            lg.n_conns = (int)v;
        } else if (strcmp(a, "--out") == 0) {
            lg.out = val;
        } else if (strcmp(a, "--run-id") == 0) {
            if (strlen(val) == 0 || strlen(val) > LG_RUN_ID_MAX ||
                strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
                    strlen(val))
                return lg_usage("--run-id must be 1..32 of A-Z a-z 0-9 -");
            snprintf(lg.run_id, sizeof(lg.run_id), "%s", val);
        } else {
            snprintf(msg, sizeof(msg), "unknown option %.60s", a);
            return lg_usage(msg);
        }
    }
    if (port == 0 || lg.token[0] == '\0')
        return lg_usage("--port and --token are required");
    lg.addr.sin_family = AF_INET;
    lg.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &lg.addr.sin_addr) != 1)
        return lg_usage("--host must be an IPv4 address");
    snprintf(lg.host, sizeof(lg.host), "%s:%ld", host, port);
    if (lg.n_conns > lg.n_tickets)
        lg.n_conns = (int)lg.n_tickets;
    lg.tickets = calloc((size_t)lg.n_tickets, sizeof(*lg.tickets));
    lg.retry = calloc((size_t)lg.n_tickets, sizeof(*lg.retry));
    lg.conns = calloc((size_t)lg.n_conns, sizeof(*lg.conns));
    lg.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (lg.tickets == NULL || lg.retry == NULL || lg.conns == NULL || lg.epfd < 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out;
    }
    if (lg_run(&lg) == 0)
        rc = 0;
    lg_summary(&lg);
    if (lg_write(&lg) != 0)
        rc = 1;
out:
    for (int i = 0; lg.conns != NULL && i < lg.n_conns; i++)
        if (lg.conns[i].fd >= 0)
            close(lg.conns[i].fd);
    if (lg.epfd >= 0)
        close(lg.epfd);
    free(lg.tickets);
    free(lg.retry);
    free(lg.conns);
    return rc;
}

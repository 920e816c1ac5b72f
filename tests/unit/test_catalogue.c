/* test_catalogue.c -- the dispatch catalogue: load errors, routing behaviours a dispatcher
 * relies on, and the routing quality on the labelled requests */
#include "catalogue.h"
#include "check.h"
#include "units.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/rexian-cat-XXXXXX";
static char units_path[1024], cat_path[1024], dev_path[1024];

/* ---------------------------------------------------------------- helpers */

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

static cat_result_t route(const cat_t *cat, const char *text, const char *address,
                          const char *township)
{
    cat_request_t req = {.text = text, .address = address, .township = township};
    cat_result_t res;

    memset(&res, 0, sizeof(res));
    if (cat_route(cat, &req, &res) != 0)
        res.manual = -1;
    return res;
}

static int has_candidate(const cat_result_t *res, const char *unit)
{
    for (int i = 0; i < res->n_candidates; i++) {
        if (strcmp(res->candidates[i].unit, unit) == 0)
            return 1;
    }
    return 0;
}

static int has_co(const cat_result_t *res, const char *unit)
{
    for (int i = 0; i < res->n_co; i++) {
        if (strcmp(res->co_units[i], unit) == 0)
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- load errors */

static void refused(const units_t *units, const char *name, const char *text, const char *want)
{
    char err[512] = "";
    const char *path = write_file(name, text);
    cat_t *cat = cat_load(path, units, err, sizeof(err));

    CHECK(cat == NULL);
    if (strstr(err, want) == NULL) {
        check_failed++;
        fprintf(stderr, "%s: error \"%s\" does not contain \"%s\"\n", name, err, want);
    } else {
        check_passed++;
    }
    cat_destroy(&cat);
}

static void test_load_errors(const units_t *units)
{
    refused(units, "route.conf", "[settings]\nmin_score = 5\n\n[route no-such-unit]\nkw = 停电:9\n",
            "route.conf:4: unknown unit 'no-such-unit'");
    refused(units, "co.conf",
            "[cohandle x]\nlead = power-supply\nwhen = 物业\nco = housing, transport\n",
            "co.conf:4: unknown unit 'housing'");
    refused(units, "lead.conf", "[cohandle x]\nlead = power\nwhen = 物业\nco = transport\n",
            "lead.conf:2: unknown unit 'power'");
    refused(units, "category.conf", "[category streetlight]\nunits = street-lights:8\n",
            "category.conf:2: unknown unit 'street-lights'");
    refused(units, "area.conf", "[route water-supply]\nkw = 停水:9\narea = town-x\n",
            "area.conf:3: unknown unit 'town-x'");
    refused(units, "places.conf", "[places education]\nnames = 学校\n",
            "places.conf:1: unit 'education' is not a township");
    refused(units, "weight.conf", "[route power-supply]\nkw = 停电:900\n",
            "weight.conf:2: '停电:900': weight must be a number 1..100");
    refused(units, "short.conf", "[route power-supply]\nkw = a:3\n",
            "short.conf:2: phrase 'a' too short");
    refused(units, "key.conf", "[route power-supply]\nkeywords = 停电\n",
            "key.conf:2: unknown key 'keywords' in [route power-supply]");
    refused(units, "dup.conf", "[local]\nkw = 村里\n[route tax]\nkw = 发票\n[local]\nkw = 村委会\n",
            "dup.conf:5: duplicate section [local] (first at line 1)");
    refused(units, "section.conf", "[rules tax]\nkw = 发票\n",
            "section.conf:1: section [rules tax] not allowed");
    refused(units, "level.conf", "[urgency x]\nlevel = high\nany = 着火\n",
            "level.conf:2: level 'high' not allowed");
    refused(units, "incomplete.conf",
            "[settings]\nmin_score = 6\n[urgency fire]\nlevel = emergency\n",
            "incomplete.conf:3: [urgency fire] needs level and any");
    refused(units, "twice.conf", "[route tax]\nkw = 发票:9, 税务:8, 发票:3\n",
            "phrase '发票' listed twice for tax");
    refused(units, "setting.conf", "[settings]\nmin_score = many\n",
            "setting.conf:2: min_score must be a whole number");
    {
        char err[256] = "";
        CHECK(cat_load("/nonexistent/catalogue.conf", units, err, sizeof(err)) == NULL);
        CHECK(strstr(err, "cannot open") != NULL);
    }
}

/* ---------------------------------------------------------------- behaviours */

static void test_small_catalogue(const units_t *units)
{
    char err[512] = "";
    const char *path =
        write_file("small.conf", "[settings]\nmin_score = 6\nmin_margin = 2\n"
                                 "township_margin = 0\nhypothetical = 怕\n"
                                 "[mask]\nphrases = 来电人\n"
                                 "[route power-supply]\nkw = 停电:9, 来电:9, 电费:5\n"
                                 "[route gas-heating]\nkw = 燃气:8\n"
                                 "[route transport]\nkw = 公交:6, 公交车:8\n"
                                 "[local]\nkw = 村干部:9, 村&垃圾:6\n"
                                 "[places town-jiazhen]\nnames = 贾镇\n"
                                 "[category streetlight]\nunits = power-supply:7\n"
                                 "[urgency fire]\nlevel = emergency\nany = 着火\n");
    cat_t *cat = cat_load(path, units, err, sizeof(err));
    cat_result_t r;

    CHECK(cat != NULL);
    if (cat == NULL) {
        fprintf(stderr, "small.conf: %s\n", err);
        return;
    }
    /* a mask hides the shorter phrase inside it */
    r = route(cat, "来电人反映：电费太高", "", "");
    CHECK_INT(r.manual, 1);
    CHECK_INT(r.score, 5);
    /* a longer phrase of the same unit counts instead of the shorter one, not with it */
    r = route(cat, "公交车晚点", "", "");
    CHECK_INT(r.score, 8);
    /* a&b counts only with both */
    r = route(cat, "村口的垃圾", "", "town-jiazhen");
    CHECK_STR(r.unit, "town-jiazhen");
    CHECK_INT(r.score, 6);
    r = route(cat, "路口的垃圾", "", "town-jiazhen");
    CHECK_INT(r.manual, 1);
    CHECK_INT(r.n_candidates, 0);
    /* the gazetteer locates a local matter when intake did not */
    r = route(cat, "贾镇李湾村的村干部收好处费", "", "");
    CHECK_STR(r.unit, "town-jiazhen");
    CHECK_STR(r.township, "town-jiazhen");
    /* a local matter nobody can place goes to a person */
    r = route(cat, "村干部收好处费", "", "");
    CHECK_INT(r.manual, 1);
    CHECK(strstr(r.why, "township not located") != NULL);
    /* an intake township that is not a township is ignored */
    r = route(cat, "村干部收好处费", "", "education");
    CHECK_INT(r.manual, 1);
    /* category hints add to the keywords */
    cat_request_t req = {.text = "路边有个问题", .category = "streetlight"};
    CHECK_INT(cat_route(cat, &req, &r), 0);
    CHECK_STR(r.unit, "power-supply");
    /* hypothetical danger is not an emergency; case and full-width letters do not matter */
    r = route(cat, "怕着火", "", "");
    CHECK_INT(r.urgency, CAT_URGENCY_NORMAL);
    r = route(cat, "楼下着火了", "", "");
    CHECK_INT(r.urgency, CAT_URGENCY_EMERGENCY);
    cat_destroy(&cat);
    CHECK(cat == NULL);
    cat_destroy(&cat);
    cat_destroy(NULL);
}

static void test_behaviours(const cat_t *cat)
{
    cat_result_t r, again;
    char *big;

    /* a gas leak is an emergency for the gas company */
    r = route(cat, "来电人反映：小区楼下闻到很浓的燃气味，好像是管道漏气了，请赶紧来人。",
              "西关街道和平路", "town-xiguan");
    CHECK_STR(r.unit, "gas-heating");
    CHECK_INT(r.urgency, CAT_URGENCY_EMERGENCY);
    CHECK(strstr(r.why, "gas-leak") != NULL);

    /* a power cut is urgent for the power company */
    r = route(cat, "来电人反映：我们这一片从中午开始停电，到现在还没来电。", "王集镇王集街",
              "town-wangji");
    CHECK_STR(r.unit, "power-supply");
    CHECK_INT(r.urgency, CAT_URGENCY_URGENT);
    CHECK_INT(r.manual, 0);

    /* a department's matter in a village still goes to the department */
    r = route(cat, "来电人反映：我在贾镇孙庄村的砖厂干了三个月，老板拖欠工资一直不给。",
              "贾镇孙庄村", "town-jiazhen");
    CHECK_STR(r.unit, "hr-social-security");
    CHECK_STR(r.township, "town-jiazhen");
    r = route(cat, "来电人反映：北山乡大岭村的变压器太小，晚上电压低得电视都开不了。",
              "北山乡大岭村", "town-beishan");
    CHECK_STR(r.unit, "power-supply");

    /* the township owns village self-government */
    r = route(cat, "来电人反映：贾镇李湾村的村干部办事要收好处费，请镇里查处。", "贾镇李湾村",
              "town-jiazhen");
    CHECK_STR(r.unit, "town-jiazhen");
    /* ... and old compounds without property management, but not the renovation programme */
    r = route(cat, "来电人反映：东关街道老棉纺厂家属院没有物业，楼道灯坏了没人修。", "东关街道",
              "town-dongguan");
    CHECK_STR(r.unit, "town-dongguan");
    r = route(cat, "来电人反映：城关镇文化路家属院老旧小区改造，车棚拆了半年没建。", "",
              "town-chengguan");
    CHECK_STR(r.unit, "housing-construction");

    /* no confident rule: manual, with the candidates and no guess */
    r = route(cat, "来电人反映：我家门口的那个东西坏了好久了，一直没人来看。", "", "");
    CHECK_INT(r.manual, 1);
    CHECK_STR(r.unit, "");
    r = route(cat, "来电人反映：小区门口的路灯和垃圾桶都是物业的还是城管的？", "", "");
    CHECK(r.manual == 1 || r.unit[0] != '\0');
    r = route(cat, "来电人咨询：想问问水电的事情。", "", "");
    CHECK_INT(r.manual, 1);
    r = route(cat, "来电人咨询：学校旁边的饭店卫生怎么样？", "", "");
    CHECK_INT(r.manual, 1);
    CHECK(r.n_candidates >= 2);
    CHECK(has_candidate(&r, "education") && has_candidate(&r, "market-regulation"));
    CHECK(strstr(r.why, "manual") != NULL);

    /* co-handlers follow the lead */
    r = route(cat, "来电人反映：小区停水两天了，物业说是自来水公司的事。", "县城滨河小区", "");
    CHECK_STR(r.unit, "water-supply");
    CHECK(has_co(&r, "housing-construction"));
    CHECK_INT(r.urgency, CAT_URGENCY_URGENT);

    /* hypothetical or past danger is not an emergency */
    r = route(cat, "来电人反映：学生宿舍冬天没有暖气，学校也不让用电热毯，说是怕着火。", "", "");
    CHECK_INT(r.urgency, CAT_URGENCY_NORMAL);
    r = route(cat, "来电人反映：村里道路两边堆满柴草，上次着火消防车都进不来。", "", "");
    CHECK_INT(r.urgency, CAT_URGENCY_NORMAL);

    /* pure: the same request gives the same result */
    r = route(cat, "来电人反映：县城东环路中段的路灯一直不亮。", "县城东环路", "");
    again = route(cat, "来电人反映：县城东环路中段的路灯一直不亮。", "县城东环路", "");
    CHECK(memcmp(&r, &again, sizeof(r)) == 0);
    CHECK_STR(r.unit, "urban-management");
    CHECK(r.confidence > 0.0 && r.confidence <= 1.0);
    CHECK(r.why[0] != '\0' && strlen(r.why) <= CAT_WHY_MAX);

    /* bad and huge input: no crash, limits hold, the explanation stays valid UTF-8 */
    {
        cat_request_t req = {0};
        CHECK_INT(cat_route(cat, &req, &r), -EINVAL);
        CHECK_INT(cat_route(cat, NULL, &r), -EINVAL);
        CHECK_INT(cat_route(NULL, &req, &r), -EINVAL);
    }
    big = malloc(200000);
    if (big != NULL) {
        size_t n = 0;
        const char *piece = "停电停水燃气味村干部物业公司路灯";
        while (n + strlen(piece) < 199999) {
            memcpy(big + n, piece, strlen(piece));
            n += strlen(piece);
        }
        big[n] = '\0';
        r = route(cat, big, big, "town-jiazhen");
        CHECK(r.manual == 0 || r.manual == 1);
        CHECK(strlen(r.why) <= CAT_WHY_MAX);
        CHECK(strstr(r.why, "text cut") != NULL || strstr(r.why, "first") != NULL);
        for (size_t i = 0; i + 1 < n; i++)
            big[i] = (char)(0x80 + (i * 37) % 128); /* not UTF-8 at all */
        r = route(cat, big, "\xff\xfe", "\xe6");
        CHECK(strlen(r.why) <= CAT_WHY_MAX);
        free(big);
    }
}

/* ---------------------------------------------------------------- quality */

typedef struct pair_t {
    char want[UNIT_CODE_MAX + 1]; /* expected unit */
    char got[UNIT_CODE_MAX + 1];  /* routed unit or "manual" */
    int count;                    /* occurrences */
} pair_t;

typedef struct tally_t {
    int total;        /* requests with an expected unit */
    int right;        /* routed to it */
    int manual;       /* sent to the manual queue */
    int hot;          /* emergencies and outages */
    int hot_right;    /* ... with the right urgency */
    int cold_wrong;   /* normal requests flagged urgent or emergency */
    pair_t pairs[64]; /* confusion pairs */
    int n_pairs;      /* entries used */
} tally_t;

static void tally_add(tally_t *t, const char *want, const char *want_urgency, const cat_result_t *r)
{
    const char *got = r->manual ? "manual" : r->unit;
    int urgency_ok = strcmp(want_urgency, cat_urgency_name(r->urgency)) == 0;

    if (strcmp(want_urgency, "normal") != 0) {
        t->hot++;
        t->hot_right += urgency_ok;
    } else if (!urgency_ok) {
        t->cold_wrong++;
    }
    if (strcmp(want, "*") == 0) /* urgency-only case */
        return;
    t->total++;
    t->manual += r->manual;
    if (strcmp(want, got) == 0) {
        t->right++;
        return;
    }
    for (int i = 0; i < t->n_pairs; i++) {
        if (strcmp(t->pairs[i].want, want) == 0 && strcmp(t->pairs[i].got, got) == 0) {
            t->pairs[i].count++;
            return;
        }
    }
    if (t->n_pairs < (int)(sizeof(t->pairs) / sizeof(t->pairs[0]))) {
        pair_t *p = &t->pairs[t->n_pairs++];
        snprintf(p->want, sizeof(p->want), "%s", want);
        snprintf(p->got, sizeof(p->got), "%s", got);
        p->count = 1;
    }
}

static int pair_cmp(const void *a, const void *b)
{
    return ((const pair_t *)b)->count - ((const pair_t *)a)->count;
}

static void tally_report(tally_t *t, const char *what, double min_accuracy, double max_manual)
{
    double acc = t->total ? (double)t->right / t->total : 0;
    double man = t->total ? (double)t->manual / t->total : 1;

    qsort(t->pairs, (size_t)t->n_pairs, sizeof(t->pairs[0]), pair_cmp);
    printf("%s: %d requests, routed right %.1f%%, manual %.1f%%, urgency right on %d/%d "
           "emergencies and outages, %d normal requests flagged\n",
           what, t->total, 100 * acc, 100 * man, t->hot_right, t->hot, t->cold_wrong);
    for (int i = 0; i < t->n_pairs && i < 10; i++)
        printf("  confusion %d x %s -> %s\n", t->pairs[i].count, t->pairs[i].want, t->pairs[i].got);
    CHECK(t->total > 0);
    CHECK(acc >= min_accuracy);
    CHECK(man <= max_manual);
    CHECK(t->hot == 0 || (double)t->hot_right / t->hot >= 0.95);
    CHECK(t->cold_wrong * 20 <= t->total); /* at most 5% false alarms */
}

/* The labelled development requests: at least 80% right, at most 10% manual. */
static void test_dev_file(const cat_t *cat)
{
    FILE *f = fopen(dev_path, "r");
    char *line = NULL;
    size_t cap = 0;
    tally_t t;

    memset(&t, 0, sizeof(t));
    if (f == NULL) {
        fprintf(stderr,
                "cannot open %s: the labelled requests live in shared/data beside the "
                "repository (REXIAN_SOURCE_DIR/../shared)\n",
                dev_path);
        CHECK(f != NULL);
        return;
    }
    while (getline(&line, &cap, f) >= 0) {
        json_t *o = json_loads(line, 0, NULL);
        cat_request_t req;
        cat_result_t r;

        if (o == NULL)
            continue;
        req.text = json_string_value(json_object_get(o, "text"));
        req.address = json_string_value(json_object_get(o, "address"));
        req.township = json_string_value(json_object_get(o, "township"));
        req.category = json_string_value(json_object_get(o, "category"));
        if (req.text != NULL && cat_route(cat, &req, &r) == 0) {
            const char *want = json_string_value(json_object_get(o, "expected_unit"));
            const char *urg = json_string_value(json_object_get(o, "urgency"));
            tally_add(&t, want != NULL ? want : "", urg != NULL ? urg : "normal", &r);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    CHECK(t.total >= 100);
    tally_report(&t, "routing-dev.jsonl", 0.80, 0.10);
}

/* Requests written from the units' duties, none taken from the development file: how the
 * rules do on wording they were not tuned on. "*": only the urgency is checked. */
static const struct {
    const char *text;     /* what the caller said */
    const char *address;  /* where */
    const char *township; /* township from intake */
    const char *want;     /* expected unit, "manual" or "*" */
    const char *urgency;  /* expected urgency */
} cases[] = {
    {"来电人咨询：听说明年要调整居民水价，会不会开价格听证会？阶梯水价怎么定？", "", "", "drc",
     "normal"},
    {"网民留言：县里粮库的储备粮是不是定期轮换？陈粮都去哪了？", "", "", "drc", "normal"},
    {"来电人咨询：我们是一家小型机械加工企业，想了解县里对中小企业有什么扶持政策，技术改造有没有补"
     "助？",
     "", "", "industry-it", "normal"},
    {"来电人咨询：我的惠民惠农一卡通丢了，上面还有补贴，怎么补办？", "", "", "finance", "normal"},
    {"来电人咨询：我是退伍军人，听说可以办优待证，去哪里办？要带什么？", "", "", "veterans",
     "normal"},
    {"来电人反映：我父亲是参战老兵，今年的优抚金到现在还没发。", "", "", "veterans", "normal"},
    {"网民建议：县城能不能多设几个废品回收站，家里的纸箱、旧电器都没地方卖。", "", "", "commerce",
     "normal"},
    {"游客投诉：在县里的龙山景区跟团，导游带我们去购物店，不买东西就甩脸色。", "龙山景区", "",
     "culture-tourism", "normal"},
    {"来电人反映：东关街道朝阳路有家网吧让未成年人进去上网，好几个初中生逃课在里面。",
     "东关街道朝阳路网吧", "town-dongguan", "culture-tourism", "normal"},
    {"来电人举报：北山乡后沟村山上有人偷偷砍树，拉了好几车木头，不知道有没有采伐证。",
     "北山乡后沟村", "town-beishan", "forestry", "normal"},
    {"来电人反映：石桥乡有人在山上用粘网捕鸟，网上挂了好多死鸟。", "石桥乡", "town-shiqiao",
     "forestry", "normal"},
    {"来电人反映：我去年到县信访局反映的问题，到现在没有答复，信访事项办理期限是多长？", "", "",
     "petitions", "normal"},
    {"来电人反映：去县政务服务中心办营业执照，窗口说材料不全，来回跑了好几趟，每次说的都不一样。",
     "县政务服务中心", "", "admin-approval", "normal"},
    {"来电人咨询：有人上门说是人口普查员，要登记家里人的身份证号，这是真的吗？", "", "",
     "statistics", "normal"},
    {"来电人咨询：卖二手房要交哪些税？契税是买方交还是卖方交？", "", "", "tax", "normal"},
    {"来电人咨询：我被单位欠了工资，想请律师打官司但是没钱，能不能申请法律援助？", "", "",
     "justice", "normal"},
    {"来电人反映：李庄镇前李村的卫生室，村医给孩子打针，针头好像是重复使用的。",
     "李庄镇前李村卫生室", "town-lizhuang", "health", "normal"},
    {"来电人咨询：孩子打疫苗的时间错过了，还能补种吗？去哪里补？", "", "", "health", "normal"},
    {"来电人反映：在县医院住院花了两万，出院报销的时候说我的医保没交上，可我在村里交了钱的。",
     "县医院", "", "healthcare-security", "normal"},
    {"来电人举报：县城东环路有家小店私自卖烟花爆竹，还囤了好多在后面的民房里。", "县城东环路", "",
     "emergency-management", "normal"},
    {"来电人举报：工业园区一家化工厂的危险化学品仓库管理混乱，桶都露天堆放。", "县工业园区", "",
     "emergency-management", "normal"},
    {"来电人反映：我家电动车昨晚在小区楼下被偷了，已经报警了，想问有没有进展。", "", "",
     "public-security", "normal"},
    {"来电人咨询：孩子刚出生，怎么给孩子上户口？需要什么材料？", "", "", "public-security",
     "normal"},
    {"来电人反映：我母亲今年81岁，听说80岁以上有高龄补贴，我们一直没领到。", "", "",
     "civil-affairs", "normal"},
    {"来电人咨询：父亲去世了，想在县公墓买块墓地，价格是怎么定的？", "", "", "civil-affairs",
     "normal"},
    {"来电人反映：我在一家超市当收银员，每天干十个小时，老板从来不给加班费，也没签劳动合同。", "",
     "", "hr-social-security", "normal"},
    {"来电人咨询：失业保险金怎么领？需要什么条件？", "", "", "hr-social-security", "normal"},
    {"来电人反映：南湖镇有人在村边的基本农田上挖塘养鱼，挖了好几亩地。", "南湖镇", "town-nanhu",
     "natural-resources", "normal"},
    {"来电人举报：王集镇有家养猪场的猪粪直接排到旁边的小河里，河水发黑发臭。", "王集镇",
     "town-wangji", "ecology-environment", "normal"},
    {"来电人反映：河口镇工业园区的一家化工厂晚上偷排废气，味道刺鼻，呛得人睡不着。", "河口镇",
     "town-hekou", "ecology-environment", "normal"},
    {"来电人反映：我们小区的物业费一年涨了两次，也没开业主大会，物业服务却越来越差。",
     "县城锦绣华府小区", "", "housing-construction", "normal"},
    {"来电人反映：县城锦绣华府小区刚交房半年，墙体大面积开裂，开发商一直拖着不修。",
     "县城锦绣华府小区", "", "housing-construction", "normal"},
    {"来电人咨询：想提取住房公积金付首付，需要什么材料？", "", "", "housing-construction",
     "normal"},
    {"来电人反映：从柳河乡到县城的客运班车经常不按时发车，有时候要等一个多小时。", "", "town-liuhe",
     "transport", "normal"},
    {"来电人反映：河口镇有人在河道里非法采砂，挖得河床坑坑洼洼。", "河口镇", "town-hekou",
     "water-resources", "normal"},
    {"来电人反映：青龙镇龙头村吃的是村里饮水工程的水，这几天水是浑的，有股土腥味。", "青龙镇龙头村",
     "town-qinglong", "water-resources", "normal"},
    {"来电人举报：柳河乡有户人家养的猪病死了好几头，扔在路边沟里，怀疑是猪瘟。", "柳河乡",
     "town-liuhe", "agriculture-rural", "normal"},
    {"来电人咨询：今年的种粮补贴什么时候发？每亩标准是多少？", "", "", "agriculture-rural",
     "normal"},
    {"来电人投诉：在县城一家超市买的酸奶，回家发现已经过期三天了，超市只同意换一瓶。", "", "",
     "market-regulation", "normal"},
    {"来电人反映：在菜市场买肉，回家一称少了二两，明显缺斤短两。", "", "", "market-regulation",
     "normal"},
    {"来电人投诉：在健身房办了一张3000元的年卡，才去了几次，健身房就关门了，老板联系不上。", "", "",
     "market-regulation", "normal"},
    {"来电人反映：西关街道健康路有家烧烤店每天晚上把桌子摆到人行道上，烟熏火燎，吵到半夜。",
     "西关街道健康路", "town-xiguan", "urban-management", "normal"},
    {"来电人反映：县城人民路的一个井盖丢了，晚上很危险，怕有人掉下去。", "县城人民路", "",
     "urban-management", "normal"},
    {"来电人反映：东关街道幸福路的路灯一到晚上就不亮，已经一个星期了。", "东关街道幸福路",
     "town-dongguan", "urban-management", "normal"},
    {"来电人反映：家里暖气只有温乎，室温才十五六度，热力公司说达标了，我们不认可。", "", "",
     "gas-heating", "normal"},
    {"来电人反映：我家楼道里一股煤气味，好像是邻居家漏气了，敲门没人应，请赶快派人来。",
     "西关街道西苑小区", "town-xiguan", "gas-heating", "emergency"},
    {"来电人反映：城关镇新华路一带从早上八点就停电了，到现在还没来电，也没提前通知。",
     "城关镇新华路", "town-chengguan", "power-supply", "urgent"},
    {"来电人反映：南湖镇南湖街有根电线杆被大货车撞倒了，电线掉在地上，还在冒火花。", "南湖镇南湖街",
     "town-nanhu", "power-supply", "emergency"},
    {"来电人反映：东关街道朝阳社区从昨天晚上开始停水，到现在还没来水。", "东关街道朝阳社区",
     "town-dongguan", "water-supply", "urgent"},
    {"来电人反映：西关街道西苑小区的自来水水压太低，三楼以上就上不去水。", "西关街道西苑小区",
     "town-xiguan", "water-supply", "normal"},
    {"来电人反映：我家的光猫坏了，报修了一个星期也没人来换，网一直断着。", "", "", "telecom",
     "normal"},
    {"来电人投诉：手机套餐被营业厅擅自改了，每个月多扣了30元话费。", "", "", "telecom", "normal"},
    {"来电人反映：李庄镇后李村的村主任把村里的扶贫款发给了自己的亲戚，要求镇里调查。",
     "李庄镇后李村", "town-lizhuang", "town-lizhuang", "normal"},
    {"来电人反映：东关街道老供销社宿舍是老旧小区，没有物业，楼顶漏雨好几年了，希望社区协调维修。",
     "东关街道老供销社宿舍", "town-dongguan", "town-dongguan", "normal"},
    {"来电人反映：我和邻居因为宅基地边界上的一堵墙起了纠纷，请乡里来处理。", "石桥乡东岗村",
     "town-shiqiao", "town-shiqiao", "normal"},
    {"来电人反映：王集镇张楼村的垃圾一直没人清理，村里到处都是垃圾堆。", "王集镇张楼村",
     "town-wangji", "town-wangji", "normal"},
    {"来电人反映：河口镇杨湾村村委会换届选举，有人挨家挨户送米送油拉票。", "河口镇杨湾村",
     "town-hekou", "town-hekou", "normal"},
    {"来电人反映：滨河路桥下的积水问题，找城管说归住建，找住建说归交通，谁都不管，请县里协调。",
     "县城滨河路", "", "gov-office", "normal"},
    {"来电人反映：孩子在县实验小学上学，班主任要求家长每天在微信群里打卡、批改作业。", "县实验小学",
     "", "education", "normal"},
    {"来电人咨询：我们是外地户口，孩子想在县城读小学，随迁子女怎么办理入学？", "", "", "education",
     "normal"},
    {"来电人投诉：县城一家理发店推销会员卡，办了卡以后就涨价，剩下的钱也不给退。", "", "",
     "market-regulation", "normal"},
    {"来电人咨询：家里想装个充电桩，要去供电公司申请吗？", "", "", "power-supply", "normal"},
    {"来电人咨询：新房子想开通天然气，需要交多少开户费？", "", "", "gas-heating", "normal"},
    {"来电人反映：南湖镇南湖街一带手机信号特别差，打电话经常断。", "南湖镇南湖街", "town-nanhu",
     "telecom", "normal"},
    {"来电人反映：隔壁工地每天晚上十一点以后还在施工，搅拌机响个不停。", "县城御景湾", "",
     "housing-construction", "normal"},
    {"来电人反映：县城东环路边上有人乱倒建筑垃圾，堆了一大片。", "县城东环路", "",
     "urban-management", "normal"},
    {"来电人咨询：我今年60岁了，以前交过十年养老保险，现在能领养老金吗？", "", "",
     "hr-social-security", "normal"},
    {"来电人反映：东关街道朝阳广场每天晚上跳广场舞的音响开得特别大，一直到十点。",
     "东关街道朝阳广场", "town-dongguan", "culture-tourism", "normal"},
    {"来电人咨询：今年城乡居民医保的缴费标准是多少？什么时候截止？", "", "", "healthcare-security",
     "normal"},
    {"来电人反映：在饭店吃饭要发票，老板说开发票要另加6%的税点。", "", "", "tax", "normal"},
    {"来电人反映：有人在网上冒充我的名字找我朋友借钱，骗了好几个人。", "", "", "public-security",
     "normal"},
    {"来电人咨询：我家老房子的房产证丢了，怎么补办？", "", "", "natural-resources", "normal"},
    {"来电人反映：县城边上的一家石材厂切割石头粉尘很大，周围庄稼叶子上都是白灰。", "", "",
     "ecology-environment", "normal"},
    {"来电人举报：有人在青龙镇集上卖没有标签的农药，说是进口的，特别便宜。", "青龙镇集市",
     "town-qinglong", "agriculture-rural", "normal"},
    {"来电人咨询：退役士兵自主就业，一次性经济补助什么时候发？", "", "", "veterans", "normal"},
    {"来电人咨询：我们想做农产品电商，县里有没有电商扶持政策？", "", "", "commerce", "normal"},
    {"来电人咨询：县里去年的人均收入是多少？哪里能查到统计数据？", "", "", "statistics", "normal"},
    {"来电人反映：家里的水表读数和水费单上的对不上，多收了水费。", "", "", "water-supply",
     "normal"},
    {"来电人反映：北山乡大岭村的村道年久失修，下雨天全是泥，孩子上学很不方便。", "北山乡大岭村",
     "town-beishan", "town-beishan", "normal"},
    {"来电人反映：西关街道西环社区楼上住户养了好几条狗，楼道里全是狗屎，沟通了也没用，请社区出面协"
     "调。",
     "西关街道西环社区", "town-xiguan", "town-xiguan", "normal"},
    {"来电人反映：王集镇王集街的天然气从昨天开始就没气了，做不了饭。", "王集镇王集街",
     "town-wangji", "gas-heating", "urgent"},
    {"来电人反映：东关街道金桂园小区5号楼暖气停了一天了，家里有老人孩子，冻得受不了。",
     "东关街道金桂园小区", "town-dongguan", "gas-heating", "urgent"},
    {"来电人反映：西关街道健康路小学门口每天放学时乱停车，堵得水泄不通。", "西关街道健康路",
     "town-xiguan", "public-security", "normal"},
    {"来电人反映：我的事情一直没人管，希望政府重视一下。", "", "", "manual", "normal"},
    {"来电人反映：城关镇人民路一家饭店的后厨着火了，冒着浓烟，里面好像还有人！", "城关镇人民路",
     "town-chengguan", "*", "emergency"},
    {"来电人反映：贾镇新村一户人家的老房子刚刚倒塌了，砸到了隔壁院子。", "贾镇新村", "town-jiazhen",
     "*", "emergency"},
    {"来电人反映：学校宿舍的电热水器经常漏电，孩子洗澡被电到了好几次。", "县第二中学", "", "*",
     "emergency"},
    {"来电人反映：青龙镇青龙街主路上自来水管爆了，水喷出来一人多高，路上都淹了。", "青龙镇青龙街",
     "town-qinglong", "*", "emergency"},
    {"来电人反映：李庄镇前李村从昨天夜里就没有电，村里的井也抽不上水。", "李庄镇前李村",
     "town-lizhuang", "power-supply", "urgent"},
    {"来电人反映：我家小区已经停水三天了，物业说是自来水公司的事。", "县城书香门第小区", "",
     "water-supply", "urgent"},
    {"来电人反映：去年冬天我家差点煤气中毒，想问燃气报警器在哪里能买到正规的？", "", "", "*",
     "normal"},
    {"来电人反映：王集镇张楼村小学的厕所太破了，孩子们不敢上，怕塌了。", "王集镇张楼村小学",
     "town-wangji", "education", "normal"},
    {"来电人反映：县城人民路上的公交站候车亭顶棚被风刮掉了一半，下雨没地方躲。", "县城人民路", "",
     "transport", "normal"},
    {"来电人咨询：我在外省交了8年社保，回老家后怎么转移接续？", "", "", "hr-social-security",
     "normal"},
    {"来电人反映：城关镇解放路有家药店卖处方药不要处方，还给人推荐保健品说能降血压。",
     "城关镇解放路", "town-chengguan", "market-regulation", "normal"},
    {"来电人反映：我家孩子在县一中读高三，学校周六周日都要补课，每月还收补课费。", "县一中", "",
     "education", "normal"},
    {"来电人反映：南湖镇前湖村有人在河边开了个小砖窑，整天冒黑烟。", "南湖镇前湖村", "town-nanhu",
     "ecology-environment", "normal"},
    {"来电人反映：东关街道朝阳路有户人家在楼顶加盖了一层彩钢房。", "东关街道朝阳路",
     "town-dongguan", "urban-management", "normal"},
    {"来电人反映：西关街道和平里小区电梯坏了半个月，物业一直说在等配件。", "西关街道和平里小区",
     "town-xiguan", "housing-construction", "normal"},
    {"来电人咨询：我想给孩子办出生医学证明，在哪个医院办？", "", "", "health", "normal"},
    {"来电人反映：柳河乡后河村村委会把修路的钱挪作他用，路到现在也没修。", "柳河乡后河村",
     "town-liuhe", "town-liuhe", "normal"},
    {"来电人反映：我们家的电费这个月突然多了三百多，怀疑抄表有问题。", "", "", "power-supply",
     "normal"},
    {"来电人反映：县城滨河路上有人开着没有牌照的摩托车轰油门飙车，声音很吵。", "县城滨河路", "",
     "public-security", "normal"},
    {"来电人咨询：老人去世了，丧葬补助金去哪里领？", "", "", "*", "normal"},
    {"来电人反映：贾镇新村有户人家的狗把我家孩子咬伤了，主人不管，要求镇里调解。", "贾镇新村",
     "town-jiazhen", "*", "normal"},
    {"来电人反映：东关街道幸福路的下水道堵了，污水从井盖里冒出来，满街都是。", "东关街道幸福路",
     "town-dongguan", "urban-management", "normal"},
    {"来电人反映：我在网上买的羽绒服是假货，商家不给退，平台也不管。", "", "", "market-regulation",
     "normal"},
    {"来电人反映：河口镇河口街一带停电好几个小时了，天这么热，老人受不了。", "河口镇河口街",
     "town-hekou", "power-supply", "urgent"},
    {"来电人反映：北山乡大岭村的山上有人在开山采石，放炮震得房子都有裂缝。", "北山乡大岭村",
     "town-beishan", "natural-resources", "normal"},
    {"来电人反映：县城御景湾小区门口的燃气管道被挖掘机挖破了，呲呲往外冒气，味道很大！",
     "县城御景湾小区", "", "gas-heating", "emergency"},
    {"来电人咨询：我的社保卡丢了，怎么挂失补办？", "", "", "hr-social-security", "normal"},
    {"来电人反映：石桥乡石桥街的信用社门口，每天有人摆摊卖假冒名牌衣服。", "石桥乡石桥街",
     "town-shiqiao", "market-regulation", "normal"},
    {"来电人反映：王集镇中心小学附近的小卖部卖辣条给小学生，都是三无产品。", "王集镇",
     "town-wangji", "market-regulation", "normal"},
    {"来电人咨询：宅基地上盖房子需要办什么手续？在哪里申请？", "", "", "*", "normal"},
    {"来电人反映：县城东环路的出租车不打表，随便要价，从汽车站到县医院要30块。", "县城东环路", "",
     "transport", "normal"},
    {"来电人反映：我家住在城关镇建设路，家里的暖气片漏水，把楼下邻居家的天花板泡了。",
     "城关镇建设路", "town-chengguan", "*", "normal"},
    {"来电人反映：青龙镇的国道边上有个加油站，加油机好像做了手脚，加40升的油箱加了45升。", "青龙镇",
     "town-qinglong", "market-regulation", "normal"},
};

static void test_written_cases(const cat_t *cat)
{
    tally_t t;

    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cat_result_t r = route(cat, cases[i].text, cases[i].address, cases[i].township);
        tally_add(&t, cases[i].want, cases[i].urgency, &r);
    }
    tally_report(&t, "written cases", 0.85, 0.10);
}

int main(void)
{
    const char *src = getenv("REXIAN_SOURCE_DIR");
    char err[512] = "";
    units_t *units;
    cat_t *cat;

    if (src == NULL)
        src = ".";
    snprintf(units_path, sizeof(units_path), "%s/deploy/beixian/units.conf", src);
    snprintf(cat_path, sizeof(cat_path), "%s/deploy/beixian/catalogue.conf", src);
    snprintf(dev_path, sizeof(dev_path), "%s/../shared/data/routing-dev.jsonl", src);
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    units = units_load(units_path, err, sizeof(err));
    if (units == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    cat = cat_load(cat_path, units, err, sizeof(err));
    CHECK(cat != NULL);
    if (cat == NULL) {
        fprintf(stderr, "%s\n", err);
    } else {
        CHECK(cat_phrase_count(cat) > 500);
        test_behaviours(cat);
        test_dev_file(cat);
        test_written_cases(cat);
    }
    test_load_errors(units);
    test_small_catalogue(units);
    cat_destroy(&cat);
    units_destroy(&units);
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return check_done();
}

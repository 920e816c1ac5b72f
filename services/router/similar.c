/* similar.c -- bottom-k character-pair signatures (see similar.h) */
#include "similar.h"

#include <string.h>

/* Pairs every call carries, whatever it is about. */
static const char *similar_boiler[] = {"来电", "电人", "人反", "反映", "市民", "咨询", "请求",
                                       "希望", "要求", "有关", "关部", "部门", "处理", "解决",
                                       "问题", "情况", "尽快", "一下", "我们", "他们", NULL};

/* Next code point; -1 for an invalid byte (skipped), 0 at the end. */
static int32_t similar_next(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    int32_t c;
    int n;

    if (s >= end)
        return 0;
    if (s[0] < 0x80) {
        *p = s + 1;
        return s[0];
    }
    n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || s + n > end) {
        *p = s + 1;
        return -1;
    }
    c = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *p = s + 1;
            return -1;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    *p = s + n;
    return c;
}

/* Letters, digits and CJK ideographs count; punctuation and spaces do not. */
static int similar_counts(int32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF);
}

static int similar_boilerplate(int32_t a, int32_t b)
{
    for (int i = 0; similar_boiler[i] != NULL; i++) {
        const unsigned char *p = (const unsigned char *)similar_boiler[i];
        const unsigned char *end = p + strlen(similar_boiler[i]);
        if (similar_next(&p, end) == a && similar_next(&p, end) == b)
            return 1;
    }
    return 0;
}

size_t similar_signature(const char *text, size_t len, uint32_t ret[SIMILAR_K])
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    int32_t prev = 0, c;
    size_t n = 0;

    while ((c = similar_next(&p, end)) != 0) {
        if (c < 0)
            continue;
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (!similar_counts(c)) {
            prev = 0;
            continue;
        }
        if (prev != 0 && !similar_boilerplate(prev, c)) {
            uint32_t h = 2166136261u; /* FNV-1a over the two code points */
            for (int i = 0; i < 8; i++) {
                h ^= (uint32_t)((i < 4 ? prev : c) >> (8 * (i % 4))) & 0xFF;
                h *= 16777619u;
            }
            /* keep the SIMILAR_K smallest, sorted, distinct */
            size_t pos = 0;
            while (pos < n && ret[pos] < h)
                pos++;
            if ((pos < n && ret[pos] == h) || pos == SIMILAR_K) {
                prev = c;
                continue;
            }
            if (n < SIMILAR_K)
                n++;
            memmove(&ret[pos + 1], &ret[pos], (n - 1 - pos) * sizeof(ret[0]));
            ret[pos] = h;
        }
        prev = c;
    }
    return n;
}

int similar_percent(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    size_t i = 0, j = 0, both = 0, all = 0;

    /* bottom-k estimate: walk the union's smallest k and count what both hold */
    while ((i < na || j < nb) && all < SIMILAR_K) {
        if (j >= nb || (i < na && a[i] < b[j])) {
            i++;
        } else if (i >= na || b[j] < a[i]) {
            j++;
        } else {
            both++;
            i++;
            j++;
        }
        all++;
    }
    return all == 0 ? 0 : (int)(both * 100 / all);
}

// simdjson side of the benchmark (C++; the Debian package libsimdjson-dev).
// Exposes plain C functions to bench.c. Inputs carry SIMDJSON_PADDING
// readable bytes past their end (bench.c allocates them that way), so no
// copy into a padded_string is made.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

using namespace simdjson;

extern "C" {
#include "bench_peers.h"
}

static dom::parser *dom_parser, *fb_parser;
static ondemand::parser *od_parser;

static const implementation *fallback_impl() {
    return get_available_implementations()["fallback"];
}

extern "C" const char *sj_active_name(void) {
    static std::string s;
    s = get_active_implementation()->name();
    return s.c_str();
}

extern "C" size_t sj_padding(void) {
    return SIMDJSON_PADDING;
}

extern "C" void sj_reset(void) {
    delete dom_parser;
    delete fb_parser;
    delete od_parser;
    dom_parser = fb_parser = nullptr;
    od_parser = nullptr;
}

static dom::parser &dp() {
    if (!dom_parser) dom_parser = new dom::parser();
    return *dom_parser;
}

static ondemand::parser &op() {
    if (!od_parser) od_parser = new ondemand::parser();
    return *od_parser;
}

static int dom_item(dom::object o, bench_sum *s) {
    std::string_view id;
    int64_t created;
    if (o["id"].get_string().get(id)) return 1;
    if (o["createdAt"].get_int64().get(created)) return 1;
    s->items++;
    s->sum += (uint64_t)created + (unsigned char)id[0];
    dom::element name;
    if (!o["name"].get(name) && name.is_string()) {
        std::string_view n = name.get_string().value_unsafe();
        s->sum += n.empty() ? 0 : (unsigned char)n[0];
    }
    return 0;
}

// One JSON text, DOM: parse only (extract = 0) or parse and walk items.
static int dom_json(dom::parser &parser, const char *p, size_t n, int extract, bench_sum *s) {
    dom::element doc;
    if (parser.parse(p, n, false).get(doc)) return 1;
    if (!extract) {
        s->items++;
        return 0;
    }
    dom::array items;
    if (doc["items"].get_array().get(items)) return 1;
    for (dom::element e : items) {
        dom::object o;
        if (e.get_object().get(o) || dom_item(o, s)) return 1;
    }
    return 0;
}

static int dom_jsonl(dom::parser &parser, const char *p, size_t n, int extract, bench_sum *s) {
    dom::document_stream docs;
    if (parser.parse_many(p, n, dom::DEFAULT_BATCH_SIZE).get(docs)) return 1;
    for (auto r : docs) {
        dom::element doc;
        if (r.get(doc)) return 1;
        if (!extract) {
            s->items++;
            continue;
        }
        dom::object o;
        if (doc["data"].get_object().get(o) || dom_item(o, s)) return 1;
    }
    return 0;
}

extern "C" int sj_dom(const char *p, size_t n, int jsonl, int extract, bench_sum *s) {
    return jsonl ? dom_jsonl(dp(), p, n, extract, s) : dom_json(dp(), p, n, extract, s);
}

// The same with the portable (non-SIMD) kernel forced: what simdjson does
// on a machine without the instructions its fast kernels need.
extern "C" int sj_dom_fallback(const char *p, size_t n, int jsonl, int extract, bench_sum *s) {
    const implementation *was = get_active_implementation();
    int r;
    // the parser takes its kernel from the active implementation when it
    // (re)allocates: keep one parser for the fallback kernel alone
    get_active_implementation() = fallback_impl();
    if (!fb_parser) fb_parser = new dom::parser();
    r = jsonl ? dom_jsonl(*fb_parser, p, n, extract, s) : dom_json(*fb_parser, p, n, extract, s);
    get_active_implementation() = was;
    return r;
}

template <typename O> static int od_item(O &&o, bench_sum *s) {
    std::string_view id;
    int64_t created = 0;
    uint64_t name0 = 0;
    int got = 0;
    // fields in document order, as an On-Demand user iterating would
    for (auto field : o) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return 1;
        if (key == "id") {
            if (field.value().get_string().get(id)) return 1;
            got |= 1;
        } else if (key == "name") {
            std::string_view n;
            if (!field.value().get_string().get(n) && !n.empty()) name0 = (unsigned char)n[0];
        } else if (key == "createdAt") {
            if (field.value().get_int64().get(created)) return 1;
            got |= 2;
        }
    }
    if (got != 3) return 1;
    s->items++;
    s->sum += (uint64_t)created + (unsigned char)id[0] + name0;
    return 0;
}

extern "C" int sj_od(const char *p, size_t n, int jsonl, int extract, bench_sum *s) {
    (void)extract; // On-Demand has no separate parse step: always extracts
    if (!jsonl) {
        ondemand::document doc;
        if (op().iterate(p, n, n + SIMDJSON_PADDING).get(doc)) return 1;
        ondemand::array items;
        if (doc["items"].get_array().get(items)) return 1;
        for (auto e : items) {
            ondemand::object o;
            if (e.get_object().get(o) || od_item(o, s)) return 1;
        }
        return 0;
    }
    ondemand::document_stream docs;
    if (op().iterate_many(p, n, ondemand::DEFAULT_BATCH_SIZE).get(docs)) return 1;
    for (auto d : docs) {
        ondemand::document_reference doc;
        if (std::move(d).get(doc)) return 1;
        ondemand::object o;
        if (doc["data"].get_object().get(o) || od_item(o, s)) return 1;
    }
    return 0;
}

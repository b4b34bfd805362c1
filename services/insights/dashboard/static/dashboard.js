/* The IKM dashboard: signs in with a bearer token, reads the insights API, draws SVG charts.
 * No library, no external resource: everything here is served by the insights service.
 * Text from the API is only ever set with textContent (never parsed as HTML). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("dashboard-config").textContent);
  var S = config.strings;
  var LOCALE = config.lang === "en" ? "en-GB" : "id-ID";
  var TOKEN_KEY = "ikm.dashboard.token";
  var SVG_NS = "http://www.w3.org/2000/svg";

  var HEADLINE_GROUPS = [
    ["group_enterprises", ["enterprises.registered", "enterprises.verified"]],
    ["group_linkmatch", ["linkmatch.smk", "linkmatch.companies", "linkmatch.agreements"]],
    ["group_training", ["webinars.held", "webinars.participants"]],
    ["group_esmart", ["esmart.onboarded", "campaigns.participants"]],
    ["group_subsidy", ["subsidy.reserved_rupiah", "subsidy.disbursed_rupiah"]]
  ];
  var TRENDS = ["enterprises.registered", "esmart.onboarded", "webinars.participants",
    "subsidy.disbursed_rupiah"];
  var TABLE_INDICATORS = ["enterprises.registered", "esmart.onboarded", "linkmatch.agreements",
    "webinars.participants", "subsidy.disbursed_rupiah"];
  var REGENCY_INDICATORS = ["enterprises.registered", "esmart.onboarded", "webinars.participants",
    "subsidy.disbursed_rupiah"];

  var numberFormat = new Intl.NumberFormat(LOCALE);
  var compactFormat = new Intl.NumberFormat(LOCALE, { notation: "compact", maximumFractionDigits: 1 });
  var rupiahFormat = new Intl.NumberFormat(LOCALE, {
    style: "currency", currency: "IDR", currencyDisplay: "narrowSymbol", maximumFractionDigits: 0, minimumFractionDigits: 0
  });
  var percentFormat = new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 1 });
  var monthFormat = new Intl.DateTimeFormat(LOCALE, { month: "short", timeZone: "UTC" });
  var countryNames = null;
  try { countryNames = new Intl.DisplayNames([LOCALE], { type: "region" }); } catch (e) { /* old browser */ }

  var catalog = {};          // indicator id -> IndicatorDefinition (GET /indicators)
  var requests = {};         // URL -> promise of JSON: one request per URL per page view
  var signedOut = false;

  // ---------------------------------------------------------------- DOM helpers
  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function setAttrs(node, attrs) {
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, String(value));
    });
  }

  function append(node, children) {
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function setState(state) { document.documentElement.setAttribute("data-state", state); }

  // ---------------------------------------------------------------- formatting
  function isRupiah(indicator, unit) {
    return unit === "rupiah" || /_rupiah$/.test(indicator || "");
  }

  function formatValue(value, indicator, unit) {
    if (value === null || value === undefined) return "–";
    return isRupiah(indicator, unit) ? rupiahFormat.format(value) : numberFormat.format(value);
  }

  function formatPercent(percent) {
    return percent === null || percent === undefined ? "–" : percentFormat.format(percent / 100);
  }

  function indicatorTitle(id) {
    if (S["ind_" + id]) return S["ind_" + id];
    var definition = catalog[id];
    if (definition) return config.lang === "en" ? definition.title_en : definition.title_id;
    return id;
  }

  // by=dimension keys come as "dimension:value" (e.g. "platform:tokopedia"); the value is shown.
  function dimensionValue(key) {
    var text = String(key);
    var colon = text.indexOf(":");
    return colon >= 0 ? text.slice(colon + 1) : text;
  }

  function dimensionLabel(key) {
    var value = dimensionValue(key);
    if (S["dim_" + value]) return S["dim_" + value];
    return value;
  }

  var PLATFORM_NAMES = {
    tokopedia: "Tokopedia", shopee: "Shopee", bukalapak: "Bukalapak", blibli: "BliBli",
    blanja: "Blanja.com", gojek: "Gojek", lazada: "Lazada", tiktok_shop: "TikTok Shop"
  };

  function platformLabel(key) {
    var value = dimensionValue(key);
    return PLATFORM_NAMES[value] || value;
  }

  function countryLabel(code) {
    if (countryNames && /^[A-Z]{2}$/.test(code)) {
      try { return countryNames.of(code) || code; } catch (e) { return code; }
    }
    return code;
  }

  function provinceName(code) { return config.provinces[code] || code; }

  // "-": counted in the province without a regency (e.g. participants, who give only a province).
  var NO_REGENCY = "-";

  function regencyName(code) {
    if (code === NO_REGENCY) return S.regency_unknown;
    return config.regencies[code] || code;
  }

  function byRegency(a, b) {
    if (a === NO_REGENCY || b === NO_REGENCY) return a === NO_REGENCY ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  // Month keys come as "YYYY-MM" (or a bare month number): a full year of columns, zeros filled.
  function monthPoints(series) {
    var byMonth = {};
    var year = series.fiscal_year;
    var recognised = (series.points || []).every(function (p) {
      var match = /^(\d{4})-(\d{1,2})$/.exec(String(p.key)) || /^()(\d{1,2})$/.exec(String(p.key));
      if (!match) return false;
      if (match[1]) year = year || Number(match[1]);
      byMonth[Number(match[2])] = (byMonth[Number(match[2])] || 0) + p.value;
      return true;
    });
    if (!recognised || !year) {
      return (series.points || []).map(function (p) { return { key: String(p.key), label: String(p.key), value: p.value }; });
    }
    var points = [];
    for (var m = 1; m <= 12; m++) {
      var key = year + "-" + (m < 10 ? "0" : "") + m;
      points.push({ key: key, label: monthFormat.format(new Date(Date.UTC(year, m - 1, 1))), value: byMonth[m] || 0 });
    }
    return points;
  }

  // ---------------------------------------------------------------- sign-in
  function readToken() { return sessionStorage.getItem(TOKEN_KEY); }

  function claimsOf(token) {
    var parts = String(token).split(".");
    if (parts.length !== 3) return null;
    try {
      var b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
      while (b64.length % 4) b64 += "=";
      var bytes = Uint8Array.from(atob(b64), function (c) { return c.charCodeAt(0); });
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      return null;
    }
  }

  // The role as the API reads it: claim "role", or the one platform role among Keycloak's.
  function roleOf(claims) {
    if (claims.role) return claims.role;
    var roles = (claims.realm_access && claims.realm_access.roles) || [];
    var known = roles.filter(function (r) { return S["role_" + r]; });
    return known.length === 1 ? known[0] : null;
  }

  function showSignIn(message) {
    setState("signin");
    $("content").hidden = true;
    $("who").hidden = true;
    $("signout").hidden = true;
    $("signin").hidden = false;
    var error = $("signin-error");
    error.hidden = !message;
    error.textContent = message || "";
    $("token").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(message);
  }

  function onSignIn(event) {
    event.preventDefault();
    var token = $("token").value.trim().replace(/^Bearer\s+/i, "");
    if (!claimsOf(token)) { showSignIn(S.token_malformed); return; }
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    start();
  }

  function pageUrl(province) {
    var url = config.dashboard_url + (province ? "/provinces/" + encodeURIComponent(province) : "");
    var query = new URLSearchParams({ lang: config.lang });
    if (config.year_chosen) query.set("fiscal_year", config.year_chosen);
    return url + "?" + query.toString();
  }

  // ---------------------------------------------------------------- API
  function ApiError(status, detail) {
    this.status = status;
    this.message = S.load_error + " (HTTP " + status + (detail ? ": " + detail : "") + ")";
  }

  function api(path, params) {
    var query = new URLSearchParams();
    Object.keys(params || {}).forEach(function (name) {
      var value = params[name];
      if (value !== null && value !== undefined && value !== "") query.set(name, value);
    });
    var url = config.api_base + path + (query.toString() ? "?" + query.toString() : "");
    if (!requests[url]) {
      requests[url] = fetch(url, {
        headers: { Authorization: "Bearer " + readToken(), Accept: "application/json" },
        credentials: "omit"
      }).then(function (response) {
        if (response.ok) return response.json();
        return response.json().catch(function () { return {}; }).then(function (body) {
          // The platform's errors are RFC 9457 problems: "detail" is a sentence (docs/errors.md).
          var detail = body && body.detail;
          throw new ApiError(response.status, typeof detail === "string" ? detail : "");
        });
      });
    }
    return requests[url];
  }

  function scope(extra) {
    var params = { fiscal_year: config.fiscal_year, province: config.province };
    Object.keys(extra || {}).forEach(function (k) { params[k] = extra[k]; });
    return params;
  }

  function series(indicator, extra) {
    return api("/indicators/" + encodeURIComponent(indicator), scope(extra));
  }

  // A section that fails shows why in place; a 401 sends the officer back to the sign-in form.
  function guarded(container, render) {
    return Promise.resolve().then(render).catch(function (error) {
      if (error && error.status === 401) {
        if (!signedOut) { signedOut = true; signOut(S.token_rejected); }
        return;
      }
      if (error && error.status === 403) {
        var banner = $("page-error");
        banner.hidden = false;
        banner.textContent = S.forbidden + (error.message ? " " + error.message : "");
      }
      if (container.classList.contains("value")) clear(container);  // a card: the error replaces "loading"
      append(container, [el("p", { "class": "error", role: "alert", text: error && error.message ? error.message : S.load_error })]);
      if (!(error instanceof ApiError)) console.error(error);
    });
  }

  // ---------------------------------------------------------------- charts (SVG)
  function niceMax(max) {
    if (max <= 0) return 1;
    var power = Math.pow(10, Math.floor(Math.log10(max)));
    var steps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= max) return steps[i] * power;
    return 10 * power;
  }

  // A chart's figure: its caption, the picture (labelled with its title and total), and the
  // same figures as a table in a disclosure (the text alternative of the picture).
  function figure(id, title, total, body, points, format) {
    var caption = el("figcaption", {}, [el("span", { "class": "chart-title", text: title })]);
    var label = title;
    if (total !== null && total !== undefined) {
      append(caption, [el("span", { "class": "chart-total", "data-total": total.raw, text: S.total + ": " + total.text })]);
      label += ", " + S.total + ": " + total.text;
    }
    if (body.namespaceURI === SVG_NS) body.setAttribute("aria-label", label);
    var parts = [caption, body];
    if (points && points.length) parts.push(dataTable(title, points, format));
    return el("figure", { "class": "chart", "data-chart": id }, parts);
  }

  function dataTable(title, points, format) {
    var rows = points.map(function (p) {
      return el("tr", { "data-key": p.key }, [
        el("th", { scope: "row", "data-key": p.key, text: p.label }),
        el("td", { "class": "num", "data-value": p.value, text: format(p.value) })
      ]);
    });
    var table = el("table", { "class": "data" }, [el("caption", { text: title }), el("tbody", {}, rows)]);
    return el("details", { "class": "chart-data" }, [el("summary", { text: S.chart_data }), table]);
  }

  function noData(text) { return el("p", { "class": "muted no-data", text: text || S.no_data }); }

  // Vertical columns, one per month.
  function columnChart(id, title, points, format, total) {
    if (!points.length) return figure(id, title, total, noData());
    var W = 380, H = 210, left = 52, right = 6, top = 12, bottom = 26;
    var plotW = W - left - right, plotH = H - top - bottom;
    var max = niceMax(Math.max.apply(null, points.map(function (p) { return p.value; })));
    var step = plotW / points.length;
    var chart = svg("svg", {
      viewBox: "0 0 " + W + " " + H, "class": "column-chart", role: "img",
      "aria-label": title, preserveAspectRatio: "xMidYMid meet"
    });
    [0, 0.5, 1].forEach(function (f) {
      var y = top + plotH * (1 - f);
      append(chart, [
        svg("line", { x1: left, x2: W - right, y1: y, y2: y, "class": "grid" }),
        svg("text", { x: left - 6, y: y + 4, "class": "axis", "text-anchor": "end", text: compactFormat.format(max * f) })
      ]);
    });
    var labelEvery = Math.ceil(points.length / 12);
    points.forEach(function (p, i) {
      var h = plotH * p.value / max;
      var x = left + i * step + step * 0.15;
      append(chart, [svg("rect", {
        x: x.toFixed(1), y: (top + plotH - h).toFixed(1), width: (step * 0.7).toFixed(1),
        height: Math.max(h, p.value > 0 ? 1 : 0).toFixed(1), "class": "bar",
        "data-key": p.key, "data-value": p.value
      }, [svg("title", { text: p.label + ": " + format(p.value) })])]);
      if (i % labelEvery === 0) {
        append(chart, [svg("text", {
          x: (left + i * step + step / 2).toFixed(1), y: H - 8, "class": "axis", "text-anchor": "middle", text: p.label
        })]);
      }
    });
    return figure(id, title, total, chart, points, format);
  }

  // Horizontal bars, one per category, largest first.
  function barChart(id, title, points, format, total) {
    if (!points.length) return figure(id, title, total, noData());
    points = points.slice().sort(function (a, b) { return b.value - a.value; });
    var W = 420, rowH = 24, labelW = 170, valueW = 96, top = 4;
    var H = top * 2 + points.length * rowH;
    var barW = W - labelW - valueW;
    var max = Math.max.apply(null, points.map(function (p) { return p.value; })) || 1;
    var chart = svg("svg", {
      viewBox: "0 0 " + W + " " + H, "class": "bar-chart", role: "img", "aria-label": title
    });
    points.forEach(function (p, i) {
      var y = top + i * rowH;
      var w = barW * p.value / max;
      var label = p.label.length > 27 ? p.label.slice(0, 26) + "…" : p.label;
      append(chart, [
        svg("text", { x: labelW - 6, y: y + rowH / 2 + 4, "class": "label", "text-anchor": "end", text: label },
          [svg("title", { text: p.label })]),
        svg("rect", {
          x: labelW, y: y + 4, width: Math.max(w, p.value > 0 ? 1 : 0).toFixed(1), height: rowH - 8,
          "class": "bar", "data-key": p.key, "data-value": p.value
        }, [svg("title", { text: p.label + ": " + format(p.value) })]),
        svg("text", { x: labelW + w + 4, y: y + rowH / 2 + 4, "class": "value", text: format(p.value) })
      ]);
    });
    return figure(id, title, total, chart, points, format);
  }

  // Achieved share of the target, with a tick where the elapsed share of the year puts it.
  function progressBar(progress) {
    var W = 120, H = 14;
    var percent = progress.percent;
    var fill = percent === null || percent === undefined ? 0 : Math.min(percent, 100);
    var bar = svg("svg", {
      viewBox: "0 0 " + W + " " + H, width: W, height: H, "class": "progress " + (progress.on_track ? "on-track" : "behind"),
      role: "img", "aria-label": formatPercent(percent)
    }, [
      svg("rect", { x: 0, y: 2, width: W, height: H - 4, "class": "track" }),
      svg("rect", { x: 0, y: 2, width: (W * fill / 100).toFixed(1), height: H - 4, "class": "fill", "data-percent": percent })
    ]);
    if (progress.expected_percent !== null && progress.expected_percent !== undefined) {
      var x = (W * Math.min(progress.expected_percent, 100) / 100).toFixed(1);
      append(bar, [svg("line", { x1: x, x2: x, y1: 0, y2: H, "class": "expected" })]);
    }
    return bar;
  }

  function statusBadge(onTrack) {
    return el("span", { "class": "badge " + (onTrack ? "on-track" : "behind"), text: onTrack ? S.on_track : S.behind });
  }

  function table(node, headers, rows, footRows) {
    clear(node);
    var head = el("tr", {}, headers.map(function (h) { return el("th", { scope: "col", text: h }); }));
    var body = el("tbody", {}, rows);
    append(node, [el("thead", {}, [head]), body]);
    if (footRows && footRows.length) append(node, [el("tfoot", {}, footRows)]);
    if (!rows.length) {
      append(body, [el("tr", {}, [el("td", { colspan: headers.length, "class": "muted", text: S.no_data })])]);
    }
  }

  function numberCell(value, indicator, unit) {
    return el("td", { "class": "num", "data-indicator": indicator, "data-value": value, text: formatValue(value, indicator, unit) });
  }

  // ---------------------------------------------------------------- sections
  function renderCards() {
    var container = clear($("cards"));
    return Promise.all(HEADLINE_GROUPS.map(function (group) {
      var cards = el("div", { "class": "cards" });
      append(container, [el("div", { "class": "group", "data-group": group[0] }, [el("h4", { text: S[group[0]] }), cards])]);
      return Promise.all(group[1].map(function (indicator) {
        var value = el("div", { "class": "value", text: S.loading });
        append(cards, [el("article", { "class": "card", "data-indicator": indicator }, [
          el("h5", { text: indicatorTitle(indicator) }), value
        ])]);
        return guarded(value, function () {
          return series(indicator, { by: "month" }).then(function (s) {
            value.textContent = formatValue(s.total, indicator, s.unit);
            if (value.textContent.length > 10) value.classList.add("long");
            value.setAttribute("data-value", s.total);
            showYear(s.fiscal_year);
          });
        }).then(function () { if (value.textContent === S.loading) value.textContent = "–"; });
      }));
    }));
  }

  function showYear(year) {
    if (!year) return;
    $("year-shown").textContent = S.fiscal_year + " " + year;
    if (!$("fiscal-year").value) $("fiscal-year").value = year;
  }

  function renderTrends() {
    var container = clear($("trend-charts"));
    return Promise.all(TRENDS.map(function (indicator) {
      var slot = el("div", { "class": "slot" });
      append(container, [slot]);
      return guarded(slot, function () {
        return series(indicator, { by: "month" }).then(function (s) {
          var format = function (v) { return formatValue(v, indicator, s.unit); };
          append(slot, [columnChart("trend-" + indicator, indicatorTitle(indicator), monthPoints(s), format,
            { raw: s.total, text: format(s.total) })]);
        });
      });
    }));
  }

  // The catalog's indicator counted by country, if the API has one (per-course participants).
  function countryIndicator() {
    var withCountry = Object.keys(catalog).filter(function (id) {
      return (catalog[id].dimensions || []).indexOf("country") >= 0;
    });
    var preferred = withCountry.filter(function (id) { return /ksst|international|foreign|countr/.test(id); });
    return preferred[0] || withCountry[0] || null;
  }

  // One course's participants by country: with a "course_country" dimension (keys
  // "course_country:<course>/<country>"), the course with the most countries among those with
  // foreign participants (the KSST course among webinars of Indonesians); none: no data.
  function oneCourseByCountry(s) {
    var courses = {};
    (s.points || []).forEach(function (p) {
      var value = dimensionValue(p.key);
      var slash = value.lastIndexOf("/");
      if (slash < 0) return;
      var course = value.slice(0, slash);
      (courses[course] || (courses[course] = [])).push({ key: value.slice(slash + 1), value: p.value });
    });
    var best = null;
    Object.keys(courses).sort().forEach(function (course) {
      var points = courses[course];
      var sum = points.reduce(function (n, p) { return n + p.value; }, 0);
      if (!points.some(function (p) { return p.key !== "ID"; })) return;
      if (!best || points.length > best.points.length || (points.length === best.points.length && sum > best.total)) {
        best = { points: points, total: sum };
      }
    });
    return best || { points: [], total: 0 };
  }

  function breakdown(container, id, title, indicator, extra, label, pick) {
    var slot = el("div", { "class": "slot" });
    append(container, [slot]);
    if (!indicator) {
      append(slot, [figure(id, title, null, noData(S.not_available))]);
      return Promise.resolve();
    }
    return guarded(slot, function () {
      return series(indicator, extra).then(function (s) {
        var format = function (v) { return formatValue(v, indicator, s.unit); };
        var chosen = pick ? pick(s) : { points: (s.points || []).map(function (p) { return { key: dimensionValue(p.key), value: p.value }; }), total: s.total };
        var points = chosen.points.map(function (p) { return { key: String(p.key), label: label(String(p.key)), value: p.value }; });
        append(slot, [barChart(id, title, points, format, { raw: chosen.total, text: format(chosen.total) })]);
      });
    });
  }

  function renderBreakdowns() {
    var container = clear($("breakdown-charts"));
    var country = countryIndicator();
    var countryParams = { by: "dimension" };
    var perCourse = country && (catalog[country].dimensions || []).indexOf("course_country") >= 0;
    if (perCourse) countryParams.dimension = "course_country";
    else if (country && (catalog[country].dimensions || []).length > 1) countryParams.dimension = "country";
    return Promise.all([
      breakdown(container, "esmart-platforms", S.chart_esmart, "esmart.onboarded", { by: "dimension", dimension: "platform" }, platformLabel),
      breakdown(container, "partner-types", S.chart_partners, "partners.registered", { by: "dimension", dimension: "partner_type" }, dimensionLabel),
      breakdown(container, "countries", S.chart_countries, country, countryParams, countryLabel, perCourse ? oneCourseByCountry : null)
    ]);
  }

  function renderProvinceTable() {
    var node = $("province-table");
    return guarded(node.parentNode, function () {
      return api("/provinces", { fiscal_year: config.fiscal_year, indicators: TABLE_INDICATORS.join(",") }).then(function (listing) {
        var rows = listing.items.slice().sort(function (a, b) { return a.province < b.province ? -1 : 1; }).map(function (row) {
          var link = el("a", { href: pageUrl(row.province), text: row.name || provinceName(row.province) });
          var cells = [el("th", { scope: "row" }, [link])];
          TABLE_INDICATORS.forEach(function (indicator) {
            cells.push(numberCell((row.values || {})[indicator] || 0, indicator));
          });
          cells.push(el("td", { "class": "progress-cell" }, progressList(row.progress || {})));
          return el("tr", { "data-province": row.province }, cells);
        });
        var headers = [S.col_province].concat(TABLE_INDICATORS.map(indicatorTitle), [S.col_progress]);
        return nationalRows(listing.items).then(function (foot) { table(node, headers, rows, foot); });
      });
    });
  }

  // The table adds up to the headline figures: a row of what no province holds (participants
  // from abroad, MoUs without a place), when there is any, and the national total.
  function nationalRows(items) {
    return Promise.all(TABLE_INDICATORS.map(function (indicator) {
      return series(indicator, { by: "month" });
    })).then(function (all) {
      var national = all.map(function (s) { return s.total; });
      var inProvinces = TABLE_INDICATORS.map(function (indicator) {
        return items.reduce(function (sum, row) { return sum + ((row.values || {})[indicator] || 0); }, 0);
      });
      var rest = national.map(function (total, i) { return total - inProvinces[i]; });
      var foot = [];
      var line = function (key, label, values) {
        var cells = [el("th", { scope: "row", text: label })];
        TABLE_INDICATORS.forEach(function (indicator, i) { cells.push(numberCell(values[i], indicator)); });
        cells.push(el("td", {}));
        return el("tr", { "data-province": key }, cells);
      };
      if (rest.some(function (v) { return v !== 0; })) foot.push(line("-", S.province_none, rest));
      foot.push(line("national", S.national, national));
      return foot;
    });
  }

  function progressList(progressByIndicator) {
    var ids = Object.keys(progressByIndicator);
    if (!ids.length) return [el("span", { "class": "muted", text: S.no_target })];
    return ids.map(function (indicator) {
      var p = progressByIndicator[indicator];
      return el("div", { "class": "progress-line", "data-indicator": indicator, "data-on-track": p.on_track ? "true" : "false" }, [
        el("span", { "class": "progress-name", text: indicatorTitle(indicator) }),
        progressBar(p),
        el("span", { "class": "progress-percent", text: formatPercent(p.percent) })
      ]);
    });
  }

  // National page: the provinces' targets summed per indicator.
  function renderNationalTargets() {
    var node = $("target-table");
    return guarded(node.parentNode, function () {
      return api("/progress", { fiscal_year: config.fiscal_year }).then(function (listing) {
        // Province rows (no regency) are counted on track or not; the national row (province
        // null: the national figure against every province's target summed), when the API
        // sends one, gives the actual and the target, else the provinces' rows are summed.
        var byIndicator = {};
        var national = {};
        listing.items.filter(function (p) { return !p.regency; }).forEach(function (p) {
          if (!p.province) { national[p.indicator] = p; return; }
          var sum = byIndicator[p.indicator] || (byIndicator[p.indicator] = { actual: 0, target: 0, on: 0, n: 0, expected: p.expected_percent });
          sum.actual += p.actual; sum.target += p.target; sum.n += 1; if (p.on_track) sum.on += 1;
        });
        Object.keys(national).forEach(function (indicator) {
          var sum = byIndicator[indicator];
          if (!sum) return;
          sum.actual = national[indicator].actual; sum.target = national[indicator].target;
        });
        var rows = Object.keys(byIndicator).sort().map(function (indicator) {
          var sum = byIndicator[indicator];
          var percent = sum.target ? 100 * sum.actual / sum.target : null;
          var progress = { percent: percent, expected_percent: sum.expected, on_track: percent !== null && percent >= sum.expected };
          return el("tr", { "data-indicator": indicator }, [
            el("th", { scope: "row", text: indicatorTitle(indicator) }),
            numberCell(sum.actual, indicator), numberCell(sum.target, indicator),
            el("td", {}, [progressBar(progress), " ", el("span", { "class": "progress-percent", text: formatPercent(percent) })]),
            el("td", { "class": "num", text: formatPercent(sum.expected) }),
            el("td", { "class": "num", "data-on-track": sum.on, "data-targets": sum.n, text: sum.on + " / " + sum.n })
          ]);
        });
        table(node, [S.col_indicator, S.col_actual, S.col_target, S.col_percent, S.col_expected, S.col_on_track], rows);
      });
    });
  }

  function renderRegencies() {
    var node = $("regency-table");
    var chartSlot = clear($("regency-chart"));
    return guarded(node.parentNode, function () {
      return Promise.all(REGENCY_INDICATORS.map(function (indicator) {
        return series(indicator, { by: "regency" });
      })).then(function (all) {
        var codes = {};
        all.forEach(function (s) { (s.points || []).forEach(function (p) { codes[p.key] = true; }); });
        var values = all.map(function (s) {
          var map = {}; (s.points || []).forEach(function (p) { map[p.key] = p.value; }); return map;
        });
        var rows = Object.keys(codes).sort(byRegency).map(function (code) {
          var cells = [el("th", { scope: "row", text: regencyName(code) })];
          REGENCY_INDICATORS.forEach(function (indicator, i) { cells.push(numberCell(values[i][code] || 0, indicator, all[i].unit)); });
          return el("tr", { "data-regency": code }, cells);
        });
        table(node, [S.col_regency].concat(REGENCY_INDICATORS.map(indicatorTitle)), rows);
        var first = all[0];
        var format = function (v) { return formatValue(v, REGENCY_INDICATORS[0], first.unit); };
        append(chartSlot, [barChart("regencies", S.chart_regencies, (first.points || []).map(function (p) {
          return { key: String(p.key), label: regencyName(String(p.key)), value: p.value };
        }), format, { raw: first.total, text: format(first.total) })]);
      });
    });
  }

  function renderProvinceTargets() {
    var node = $("target-table");
    return guarded(node.parentNode, function () {
      return api("/progress", { fiscal_year: config.fiscal_year, province: config.province }).then(function (listing) {
        var items = listing.items.slice().sort(function (a, b) {
          return (a.indicator + (a.regency || "")) < (b.indicator + (b.regency || "")) ? -1 : 1;
        });
        var rows = items.map(function (p) {
          return el("tr", { "data-indicator": p.indicator, "data-regency": p.regency || "", "data-on-track": p.on_track ? "true" : "false" }, [
            el("th", { scope: "row", text: indicatorTitle(p.indicator) }),
            el("td", { text: p.regency ? regencyName(p.regency) : S.whole_province }),
            numberCell(p.actual, p.indicator), numberCell(p.target, p.indicator),
            el("td", {}, [progressBar(p), " ", el("span", { "class": "progress-percent", text: formatPercent(p.percent) })]),
            el("td", { "class": "num", text: formatPercent(p.expected_percent) }),
            el("td", {}, [statusBadge(p.on_track)])
          ]);
        });
        table(node, [S.col_indicator, S.col_area, S.col_actual, S.col_target, S.col_percent, S.col_expected, S.col_status], rows);
      });
    });
  }

  // ---------------------------------------------------------------- page
  function showWho(claims, role) {
    var who = $("who");
    var parts = [S.signed_in_as + ": " + (S["role_" + role] || role || "?")];
    if (role === "regional" && claims.province) parts.push(provinceName(claims.province));
    if (claims.sub) parts.push(claims.sub);
    who.textContent = parts.join(" · ");
    who.hidden = false;
    $("signout").hidden = false;
  }

  function start() {
    signedOut = false;
    requests = {};
    var token = readToken();
    var claims = token ? claimsOf(token) : null;
    if (!claims) { signOut(token ? S.token_malformed : ""); return; }
    if (claims.exp && claims.exp * 1000 < Date.now()) { signOut(S.token_rejected); return; }
    var role = roleOf(claims);
    // A regional officer's page is their province's; the API refuses the others anyway.
    if (role === "regional" && claims.province && config.province !== claims.province) {
      setState("redirecting");
      window.location.replace(pageUrl(claims.province));
      return;
    }
    $("signin").hidden = true;
    $("content").hidden = false;
    $("page-error").hidden = true;
    showWho(claims, role);
    var back = $("back-national");
    if (back) back.hidden = role === "regional";
    setState("loading");
    var sections = guarded($("cards"), function () {
      return api("/indicators", {}).then(function (listing) {
        catalog = {};
        listing.items.forEach(function (d) { catalog[d.id] = d; });
      });
    }).then(function () {
      if (signedOut) return null;
      var parts = [renderCards(), renderTrends(), renderBreakdowns()];
      if (config.page === "national") parts.push(renderProvinceTable(), renderNationalTargets());
      else parts.push(renderRegencies(), renderProvinceTargets());
      return Promise.all(parts);
    });
    sections.then(function () {
      if (!signedOut) setState("ready");
    });
  }

  $("signin-form").addEventListener("submit", onSignIn);
  // An empty year means "the API's default": leave the parameter out rather than send "".
  $("year-form").addEventListener("submit", function () {
    var year = $("fiscal-year");
    if (!year.value) year.disabled = true;
  });
  $("signout").addEventListener("click", function () { signOut(""); });
  start();
})();

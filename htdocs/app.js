/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The PKI repository page: reads cas.json (beside this page) and shows one card per
 * certificate authority. Every value from the feed goes into the page as text, never as
 * markup; links are only relative paths of this server or http(s) URLs. When the list is
 * drawn, <body data-state> becomes "ready" (or "error"), which the tests wait for. */
(function () {
    'use strict';

    var STATUS_TEXT = { ACTIVE: 'Active', DISABLED: 'Disabled', EXPIRED: 'Expired' };
    var TYPE_TEXT = { ROOT: 'Root CA', SUBORDINATE: 'Subordinate CA' };

    function el(tag, attrs, children) {
        var node = document.createElement(tag);
        Object.keys(attrs || {}).forEach(function (k) {
            if (attrs[k] !== null && attrs[k] !== undefined) {
                node.setAttribute(k, attrs[k]);
            }
        });
        (children || []).forEach(function (c) {
            node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
        });
        return node;
    }

    /* Relative links of this server, anchors of this page, or absolute http(s) URLs;
     * anything else is shown as text. */
    function safeHref(url) {
        if (typeof url !== 'string') {
            return null;
        }
        if (/^https?:\/\//i.test(url) || /^(\/(?!\/)|ca\/)[^\s"'<>\\]*$/.test(url)
            || /^#ca-[0-9a-f-]+$/.test(url)) {
            return url;
        }
        return null;
    }

    function link(url, text, extra) {
        var href = safeHref(url);
        if (!href) {
            return document.createTextNode(text || String(url));
        }
        var attrs = { href: href };
        Object.keys(extra || {}).forEach(function (k) { attrs[k] = extra[k]; });
        return el('a', attrs, [text || url]);
    }

    function when(iso) {
        if (!iso) {
            return document.createTextNode('—');
        }
        var d = new Date(iso);
        var text = isNaN(d.getTime()) ? iso
            : d.toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
        return el('time', { datetime: iso }, [text]);
    }

    function fact(dl, field, name, value) {
        dl.appendChild(el('dt', {}, [name]));
        dl.appendChild(el('dd', { 'data-field': field },
            [typeof value === 'string' ? document.createTextNode(value) : value]));
    }

    /* Hex with colons, breakable after each colon only (never inside a byte). */
    function hex(text) {
        var code = el('code');
        String(text || '—').split(':').forEach(function (part, i, all) {
            code.appendChild(document.createTextNode(part + (i + 1 < all.length ? ':' : '')));
            if (i + 1 < all.length) {
                code.appendChild(el('wbr'));
            }
        });
        return code;
    }

    function span(children) {
        return el('span', {}, children);
    }

    function crlFacts(crl) {
        if (!crl) {
            return document.createTextNode('Not published (CRLs are disabled)');
        }
        var parts = [link(crl.url, crl.url, { 'data-link': 'crl-url' })];
        if (crl.published) {
            parts.push(el('br'), document.createTextNode(
                'Number ' + (crl.number === null || crl.number === undefined ? '—' : crl.number)
                + ', ' + crl.entries + (crl.entries === 1 ? ' entry' : ' entries') + ', issued '));
            parts.push(when(crl.thisUpdate));
            if (crl.nextUpdate) {
                parts.push(document.createTextNode(', next update by '), when(crl.nextUpdate));
            }
        } else {
            parts.push(el('br'), document.createTextNode('Not yet published'));
        }
        return span(parts);
    }

    function card(ca, bySubject) {
        var name = ca.commonName || ca.subject || ca.id;
        var headingId = 'ca-' + ca.id + '-name';
        var status = String(ca.status || '');
        var art = el('article', {
            'class': 'ca', id: 'ca-' + ca.id, 'data-ca-id': ca.id, 'data-status': status,
            'aria-labelledby': headingId
        });
        art.appendChild(el('h2', { id: headingId }, [name]));
        art.appendChild(el('div', { 'class': 'badges' }, [
            el('span', { 'class': 'badge status-' + status, 'data-field': 'status' },
                [STATUS_TEXT[status] || status]),
            el('span', { 'class': 'badge kind', 'data-field': 'type' },
                [TYPE_TEXT[ca.type] || String(ca.type)])
        ]));

        var dl = el('dl', { 'class': 'facts' });
        fact(dl, 'subject', 'Subject', ca.subject || '—');
        var issuer = bySubject[ca.issuer];
        fact(dl, 'issuer', 'Issuer', issuer && issuer.id !== ca.id
            ? link('#ca-' + issuer.id, ca.issuer) : (ca.issuer === ca.subject
                ? (ca.issuer || '—') + ' (self-signed)' : (ca.issuer || '—')));
        fact(dl, 'keyAlgorithm', 'Key algorithm', ca.keyAlgorithm || '—');
        fact(dl, 'signingAlgorithm', 'Signing algorithm', ca.signingAlgorithm || '—');
        fact(dl, 'serial', 'Serial number', hex(ca.serial));
        fact(dl, 'notBefore', 'Valid from', when(ca.notBefore));
        fact(dl, 'notAfter', 'Valid until', when(ca.notAfter));
        fact(dl, 'fingerprint', 'SHA-256 fingerprint', hex(ca.fingerprintSha256));
        fact(dl, 'crl', 'CRL', crlFacts(ca.crl));
        fact(dl, 'ocsp', 'OCSP', ca.ocsp && ca.ocsp.url
            ? link(ca.ocsp.url, ca.ocsp.url, { 'data-link': 'ocsp-url' })
            : document.createTextNode('Not enabled'));
        art.appendChild(dl);

        var downloads = [
            [ca.certificate && ca.certificate.pem, 'Certificate (PEM)', 'cert-pem'],
            [ca.certificate && ca.certificate.der, 'Certificate (DER)', 'cert-der'],
            [ca.chain && ca.chain.pem, 'Chain (PEM)', 'chain-pem'],
            [ca.chain && ca.chain.der, 'Chain (PKCS #7)', 'chain-der']
        ];
        if (ca.crl && ca.crl.published && ca.crl.download) {
            downloads.push([ca.crl.download, 'CRL (DER)', 'crl']);
        }
        var ul = el('ul', { 'class': 'downloads', 'aria-label': 'Downloads for ' + name });
        downloads.forEach(function (d) {
            if (safeHref(d[0])) {
                ul.appendChild(el('li', {}, [link(d[0], d[1], {
                    'data-link': d[2], download: '',
                    'aria-label': d[1] + ' of ' + name
                })]));
            }
        });
        art.appendChild(ul);
        art.setAttribute('data-search', [name, ca.subject, ca.issuer, status, ca.type,
            ca.keyAlgorithm, ca.fingerprintSha256, ca.serial, ca.id].join(' ').toLowerCase());
        return art;
    }

    var STATUS_RANK = { ACTIVE: 0, DISABLED: 1, EXPIRED: 2 };

    function byStatusThenName(a, b) {
        var ra = STATUS_RANK[a.status] !== undefined ? STATUS_RANK[a.status] : 9;
        var rb = STATUS_RANK[b.status] !== undefined ? STATUS_RANK[b.status] : 9;
        if (ra !== rb) {
            return ra - rb;
        }
        return String(a.commonName || a.subject).localeCompare(String(b.commonName || b.subject));
    }

    /* Each root followed by the CAs it issued (depth first); CAs whose issuer is not
     * listed here come last. Active before disabled before expired at every level. */
    function hierarchy(cas) {
        var children = {}, out = [], seen = {}, subjects = {};
        cas.forEach(function (ca) { subjects[ca.subject] = true; });
        cas.forEach(function (ca) {
            if (ca.issuer !== ca.subject && subjects[ca.issuer]) {
                (children[ca.issuer] = children[ca.issuer] || []).push(ca);
            }
        });
        function visit(ca) {
            if (seen[ca.id]) {
                return;
            }
            seen[ca.id] = true;
            out.push(ca);
            (children[ca.subject] || []).slice().sort(byStatusThenName).forEach(visit);
        }
        cas.filter(function (ca) { return ca.issuer === ca.subject; })
            .sort(byStatusThenName).forEach(visit);
        cas.slice().sort(byStatusThenName).forEach(visit);
        return out;
    }

    function countText(shown, total) {
        var noun = total === 1 ? 'certificate authority' : 'certificate authorities';
        return shown === total ? total + ' ' + noun : shown + ' of ' + total + ' ' + noun;
    }

    function render(feed) {
        var list = document.getElementById('cas');
        var count = document.getElementById('count');
        var cas = (feed && feed.certificateAuthorities) || [];
        var bySubject = {};
        cas.forEach(function (ca) { bySubject[ca.subject] = ca; });
        cas = hierarchy(cas);
        list.textContent = '';
        cas.forEach(function (ca) { list.appendChild(card(ca, bySubject)); });
        if (!cas.length) {
            list.appendChild(el('p', { 'class': 'notice' }, ['No certificate authority is published here.']));
        }
        count.textContent = countText(cas.length, cas.length)
            + (feed && feed.truncated ? ' (the list is cut short)' : '');

        var filter = document.getElementById('filter');
        filter.addEventListener('input', function () {
            var q = filter.value.trim().toLowerCase();
            var shown = 0;
            Array.prototype.forEach.call(list.querySelectorAll('article.ca'), function (a) {
                var match = !q || a.getAttribute('data-search').indexOf(q) >= 0;
                a.hidden = !match;
                shown += match ? 1 : 0;
            });
            count.textContent = countText(shown, cas.length);
        });
        document.body.setAttribute('data-state', 'ready');
    }

    function fail(why) {
        var count = document.getElementById('count');
        count.textContent = 'The list of certificate authorities could not be loaded (' + why
            + '). Try again later.';
        count.className = 'notice';
        document.body.setAttribute('data-state', 'error');
    }

    function start() {
        document.getElementById('host').textContent = location.host;
        var xhr = new XMLHttpRequest();
        xhr.open('GET', 'cas.json');
        xhr.setRequestHeader('Accept', 'application/json');
        xhr.onload = function () {
            if (xhr.status !== 200) {
                fail('HTTP ' + xhr.status);
                return;
            }
            var feed;
            try {
                feed = JSON.parse(xhr.responseText);
            } catch (e) {
                fail('not JSON');
                return;
            }
            render(feed);
        };
        xhr.onerror = function () { fail('network error'); };
        xhr.send();
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
}());

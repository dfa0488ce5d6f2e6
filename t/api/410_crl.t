# CRLs over HTTP (PCA-API.md §7.4, §9, §11.15): fetched from the URL in each
# certificate's own CDP extension, checked with openssl crl -verify and openssl
# verify -crl_check(_all); v2, issuer byte-identical to the CA subject, AKI = CA SKI,
# the CA's signing algorithm, CRL number increasing, thisUpdate/nextUpdate from
# ExpirationInDays; ETag, Last-Modified, Cache-Control, 304, HEAD; the CNAME and
# CustomPath forms; no CRL when disabled; entries gone after expiry plus one CRL;
# the periodic job (once per host) builds and repairs CRLs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;
use HTTP::Date ();
use POSIX ();

plan tests => 44, need_module('acmpca');
use_vhost();

sub pem_crl {
    my $der = shift // return '';
    openssl({ stdin => $der }, 'crl', '-inform', 'DER', '-outform', 'PEM')->{out};
}

# verify_crl($trust, $leaf, [crls], $untrusted, $all) -> {rc, out, err}
sub verify_crl {
    my($trust, $leaf, $crls, $untrusted, $all) = @_;
    my @a = ('verify', $all ? '-crl_check_all' : '-crl_check', '-CAfile', write_file('trust.pem', $trust),
             '-CRLfile', write_file('crls.pem', join '', map { pem_crl($_) } @$crls));
    push @a, '-untrusted', write_file('untrusted.pem', $untrusted) if $untrusted;
    push @a, write_file('leaf.pem', $leaf);
    openssl(@a);
}

my $R = crl_root(cn => uniq('CRL Root'), key => 'RSA_2048', signing => 'SHA384WITHRSA', crl => { days => 3 });
my $good = issue_leaf($R, cn => 'good leaf');
my $bad = issue_leaf($R, cn => 'bad leaf');
ok($R && $good && $bad, 'an RSA root signing with SHA384WITHRSA, CRL valid 3 days; two leaves');
my $url = $good ? cdp_url($good->{cert}) : undef;
my $port = (split /:/, hostport())[1];
is($url, "http://127.0.0.1:$port/$R->{bucket}/crl/$R->{id}.crl",
    'the CDP names <public URL>/<bucket>/crl/<ca-id>.crl (PCA-API.md §11.15)');

# Before any revocation.
my $crl1 = crl_der_from_url($url);
ok($crl1 && crl_verify($crl1, $R->{cert}), 'the CRL exists before the first revocation and openssl crl -verify accepts it');
my $v = verify_crl($R->{cert}, $good->{cert}, [$crl1]);
ok($v->{rc} == 0, 'openssl verify -crl_check passes for a good certificate') or diag $v->{out} . $v->{err};

# Revoke one.
my $before = time;
ok(revoke($R->{arn}, $bad->{serial}, 'KEY_COMPROMISE'), 'revoke one');
my $crl2 = crl_der_from_url(cdp_url($bad->{cert}));
$v = verify_crl($R->{cert}, $bad->{cert}, [$crl2]);
ok($v->{rc} != 0 && ($v->{out} . $v->{err}) =~ /certificate revoked/, 'openssl verify -crl_check fails for the revoked one: certificate revoked')
    or diag $v->{out} . $v->{err};
$v = verify_crl($R->{cert}, $good->{cert}, [$crl2]);
ok($v->{rc} == 0, '... and still passes for the good one') or diag $v->{out} . $v->{err};

# Content (RFC 5280 §5, PCA-API.md §7.4).
my $text = crl_text($crl2) // '';
like($text, qr/Version 2 \(0x1\)/, 'v2');
like($text, qr/Signature Algorithm: sha384WithRSAEncryption/, "signed with the CA's SigningAlgorithm");
is(unpack('H*', crl_issuer_der($crl2) // ''), unpack('H*', cert_subject_der($R->{cert}) // 'x'),
    'issuer byte-identical to the CA certificate subject');
my($aki) = $text =~ /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/;
(my $aki_hex = lc($aki // '')) =~ s/://g;
is($aki_hex, key_id(cert_text($R->{cert}), 'Subject Key Identifier'), 'AKI keyid = the CA SKI');
my($last, $next) = crl_dates($crl2);
ok($last && $last >= $before - 2 && $last <= time + 1 && $next - $last == 3 * 86400,
    'thisUpdate = now, nextUpdate = thisUpdate + ExpirationInDays');
my $e = crl_entries($text);
ok($e->{ $bad->{serial} } && ($e->{ $bad->{serial} }{reason} // '') eq 'Key Compromise'
    && abs($e->{ $bad->{serial} }{date} - $before) <= 2, 'the entry: serial, revocation time, keyCompromise');
my($n1, $n2) = (crl_number($crl1), crl_number($crl2));
ok(defined $n1 && defined $n2 && $n2 > $n1, "the CRL number increases ($n1 -> $n2)");
ok(revoke($R->{arn}, $good->{serial}, 'SUPERSEDED'), 'revoke the other');
my $crl3 = crl_der_from_url($url);
ok(crl_number($crl3) > $n2 && keys %{ crl_entries(crl_text($crl3)) } == 2, '... number up again, two entries');

# HTTP: both routes, headers, HEAD, 304 (PCA-API.md §9).
my $res = http_get($url);
my $res2 = http_get("http://127.0.0.1:$port/crl/$R->{id}.crl");
ok($res->code == 200 && $res2->code == 200 && $res->content eq $res2->content, 'GET /crl/<id>.crl serves the same bytes');
is($res->header('Content-Type'), 'application/pkix-crl', 'Content-Type application/pkix-crl');
my $etag = $res->header('ETag');
ok($etag && $res->header('Last-Modified'), 'ETag and Last-Modified');
my($age) = ($res->header('Cache-Control') // '') =~ /max-age=(\d+)/;
my($l3, $nx3) = crl_dates($crl3);
ok(defined $age && $age > 0 && time + $age <= $nx3, "Cache-Control max-age ($age) ends before nextUpdate");
my $head = http_get($url, -method => 'HEAD');
ok($head->code == 200 && $head->content eq '' && ($head->header('Content-Length') // -1) == length($res->content)
    && ($head->header('ETag') // '') eq $etag, 'HEAD: the headers, no body');
my $nm = http_get($url, 'If-None-Match' => $etag);
ok($nm->code == 304 && $nm->content eq '' && ($nm->header('ETag') // '') eq $etag, 'If-None-Match: 304 Not Modified');
my $ims = http_get($url, 'If-Modified-Since' => $res->header('Last-Modified'));
is($ims->code, 304, 'If-Modified-Since: 304');
my $other = issue_leaf($R);
revoke($R->{arn}, $other ? $other->{serial} : '', 'AFFILIATION_CHANGED');
my $changed = http_get($url, 'If-None-Match' => $etag);
ok($changed->code == 200 && ($changed->header('ETag') // '') ne $etag, 'after a revocation the old ETag gets the new CRL');

# A subordinate's chain, CRLs of both levels from each certificate's own CDP.
my $S = crl_sub($R, cn => uniq('CRL Sub'));
my $sleaf = $S ? issue_leaf($S) : undef;
my @crls = map { crl_der_from_url(cdp_url($_)) } grep { $_ } ($S ? $S->{cert} : undef), ($sleaf ? $sleaf->{cert} : undef);
$v = verify_crl($R->{cert}, $sleaf ? $sleaf->{cert} : '', \@crls, $S ? $S->{cert} : '', 1);
ok(@crls == 2 && $v->{rc} == 0, 'openssl verify -crl_check_all: a subordinate leaf with both CRLs') or diag $v->{out} . $v->{err};
revoke($S ? $S->{arn} : '', $sleaf ? $sleaf->{serial} : '', 'PRIVILEGE_WITHDRAWN');
@crls = map { crl_der_from_url(cdp_url($_)) } grep { $_ } ($S ? $S->{cert} : undef), ($sleaf ? $sleaf->{cert} : undef);
$v = verify_crl($R->{cert}, $sleaf ? $sleaf->{cert} : '', \@crls, $S ? $S->{cert} : '', 1);
ok($v->{rc} != 0 && ($v->{out} . $v->{err}) =~ /certificate revoked/, '... revoked by the subordinate: certificate revoked');

# CNAME and CustomPath forms (src/ops/cert.c): http://<cname>/<path>/<id>.crl.
my $C = crl_root(cn => uniq('CNAME Root'), crl => { cname => "127.0.0.1:$port", path => 'pki/crls' });
my $cl = $C ? issue_leaf($C) : undef;
my $curl = $cl ? cdp_url($cl->{cert}) : '';
is($curl, "http://127.0.0.1:$port/pki/crls/$C->{id}.crl", 'CustomCname + CustomPath: the CDP URL');
my $cder = crl_der_from_url($curl);
ok($cder && crl_verify($cder, $C->{cert}), '... serves the CRL');
ok(crl_der_from_url("http://127.0.0.1:$port/crl/$C->{id}.crl") eq ($cder // 'x'), '... and /crl/<id>.crl too');
my $D = crl_root(cn => uniq('CNAME only'), crl => { cname => "127.0.0.1:$port" });
my $dl = $D ? issue_leaf($D) : undef;
is($dl ? cdp_url($dl->{cert}) : '', "http://127.0.0.1:$port/crl/$D->{id}.crl", 'CustomCname alone: http://<cname>/crl/<id>.crl');
ok(crl_verify(crl_der_from_url($dl ? cdp_url($dl->{cert}) : undef), $D->{cert}), '... serves the CRL');
my $P = crl_root(cn => uniq('Path only'), crl => { path => 'lists' });
my $pl = $P ? issue_leaf($P) : undef;
my $purl = $pl ? cdp_url($pl->{cert}) : '';
ok($purl eq "http://127.0.0.1:$port/$P->{bucket}/lists/$P->{id}.crl" && crl_verify(crl_der_from_url($purl), $P->{cert}),
    'CustomPath alone: <public URL>/<bucket>/<path>/<id>.crl serves the CRL');

# The CRL moves to another bucket (UpdateCertificateAuthority): new certificates name
# the new place, and the CDP of the old ones still gets the current CRL.
my $M = crl_root(cn => uniq('Moving Root'));
my $old_leaf = $M ? issue_leaf($M) : undef;
my $old_url = $old_leaf ? cdp_url($old_leaf->{cert}) : undef;
my $first = crl_der_from_url($old_url);    # published at the old place
my $new_bucket = "moved-$$";
api(UpdateCertificateAuthority => { CertificateAuthorityArn => $M ? $M->{arn} : '', RevocationConfiguration => {
    CrlConfiguration => { Enabled => JSON::PP::true(), ExpirationInDays => 7, S3BucketName => $new_bucket } } });
my $new_leaf = $M ? issue_leaf($M) : undef;
revoke($M ? $M->{arn} : '', $old_leaf ? $old_leaf->{serial} : '', 'SUPERSEDED');
my $new_url = $new_leaf ? cdp_url($new_leaf->{cert}) : '';
ok($new_url =~ m{/\Q$new_bucket\E/crl/} && crl_entries(crl_text(crl_der_from_url($new_url)))->{ $old_leaf ? $old_leaf->{serial} : '' },
    'a new bucket: new certificates name it, and its CRL has the revocation');
ok(crl_entries(crl_text(crl_der_from_url($old_url)))->{ $old_leaf ? $old_leaf->{serial} : '' },
    '... and the old CDP serves the current CRL too');

# CRL disabled: no CDP, no CRL (issue 4).
my $N = crl_root(cn => uniq('No CRL'), revocation => { CrlConfiguration => { Enabled => JSON::PP::false() } });
my $nl = $N ? issue_leaf($N) : undef;
ok($nl && !cdp_url($nl->{cert}), 'CRL disabled: no CDP in issued certificates');
my $nres = http_get("http://127.0.0.1:$port/crl/$N->{id}.crl");
ok($nres->code == 404 && $nres->content =~ m{<Code>NoSuchKey</Code>}, '... and /crl/<id>.crl is 404 NoSuchKey');

# An expired revoked certificate is dropped after one more CRL [AWS].
my $X = crl_root(cn => uniq('Expiry Root'));
my $short = $X ? issue_leaf($X, validity => { Type => 'ABSOLUTE', Value => time + 6 }) : undef;
my $keep = $X ? issue_leaf($X) : undef;
revoke($X ? $X->{arn} : '', $short ? $short->{serial} : '', 'SUPERSEDED');
my $xurl = $keep ? cdp_url($keep->{cert}) : undef;
ok(crl_entries(crl_text(crl_der_from_url($xurl)))->{ $short ? $short->{serial} : '' }, 'a short-lived certificate revoked: on the CRL');
sleep 8;    # it expires
revoke($X ? $X->{arn} : '', $keep ? $keep->{serial} : '', 'SUPERSEDED');
ok(crl_entries(crl_text(crl_der_from_url($xurl)))->{ $short ? $short->{serial} : '' },
    '... expired: still on the first CRL published after its expiry');
my $third = $X ? issue_leaf($X) : undef;
revoke($X ? $X->{arn} : '', $third ? $third->{serial} : '', 'SUPERSEDED');
my $xe = crl_entries(crl_text(crl_der_from_url($xurl)));
ok(!$xe->{ $short ? $short->{serial} : '' } && $xe->{ $keep ? $keep->{serial} : '' }, '... and gone from the next one');

# A burst of revocations at once: one builder per CA and process (crl_busy.c); a
# revocation that builds builds its own pass only and leaves the passes owed to the
# others to the process's CRL builder thread (crl_builder.c). Whoever builds, every
# revocation ends up on the CRL, without the job's help.
my $B = crl_root(cn => uniq('Burst Root'));
my @burst = $B ? map { issue_leaf($B, cn => "burst $_") } 1 .. 40 : ();
my @kids;
for my $leaf (@burst) {
    my $pid = fork // BAIL_OUT("fork: $!");
    if (!$pid) {
        POSIX::_exit(revoke($B->{arn}, $leaf->{serial}, 'SUPERSEDED') ? 0 : 1);
    }
    push @kids, $pid;
}
my $revoked = 0;
for (@kids) {
    waitpid($_, 0);
    $revoked++ if $? == 0;
}
is($revoked, 40, 'forty revocations of one CA at once: all answered');
my $burl = @burst ? cdp_url($burst[0]->{cert}) : undef;
ok(wait_for(sub {
    my $e = crl_entries(crl_text(crl_der_from_url($burl)));
    !grep { !$e->{ $_->{serial} } } @burst;
}, 10), '... and all forty are on the CRL within seconds (no job needed: its grace is 15 s)');

# The periodic job: one process per host builds a CA's first CRL without any
# request, and repairs a CRL that lacks a revocation (here written straight into
# the store, as if the rebuild after it had failed).
my $W = crl_root(cn => uniq('Watchdog Root'));
ok(wait_for(sub { error_log_lines(qr/ACMPCA0702: CA \Q$W->{id}\E: CRL \d+ published .*first CRL/) }, 20),
    'the periodic job publishes the first CRL of a new CA') or diag 'no ACMPCA0702 line for ' . ($W ? $W->{id} : '');
my $wl = $W ? issue_leaf($W) : undef;
store_revoke_quietly($W ? $W->{id} : '', $wl ? $wl->{serial} : '', time * 1_000_000, 'KEY_COMPROMISE');
ok(wait_for(sub { crl_entries(crl_text(crl_der_from_url("http://127.0.0.1:$port/crl/$W->{id}.crl")))->{ $wl ? $wl->{serial} : '' } }, 40),
    '... and adds a revocation the CRL lacks (after a grace period of 15 s)');
my $resuming = mpm_log_re('resuming');
my @gens = split $resuming, join '', error_log_lines(qr/$resuming|ACMPCA0760|ACMPCA0702.*(?:first CRL|revocations not on)/);
my %pids = map { /\[pid (\d+)/ ? ($1 => 1) : () } grep { /ACMPCA07(?:60|02)/ } split /\n/, $gens[-1] // '';
is(scalar keys %pids, 1, 'the job ran in one process of the current server generation (mod_watchdog singleton)')
    or diag join ', ', keys %pids;

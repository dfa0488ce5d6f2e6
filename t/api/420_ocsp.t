# The OCSP responder (RFC 6960; PCA-API.md §11.14, §11.15) at the URL the AIA of
# issued certificates names: openssl ocsp gets good, revoked (time and reason) and
# unknown, verified against the CA, nonce echoed; the GET form (base64 in the path,
# %2F and all); malformedRequest for garbage, unauthorized for CAs we do not answer
# for; the server keeps answering.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;
use MIME::Base64 qw(encode_base64);

plan tests => 32, need_module('acmpca');
use_vhost();

my $rcn = uniq('OCSP Root');
my $R = crl_root(cn => $rcn, key => 'EC_secp384r1');
my $good = issue_leaf($R, cn => 'ocsp good');
my $bad = issue_leaf($R, cn => 'ocsp revoked');
ok($R && $good && $bad, 'a root with OCSP enabled, two leaves');
my $port = (split /:/, hostport())[1];
my $url = $good ? ocsp_url($good->{cert}) : undef;
is($url, "http://127.0.0.1:$port/ocsp", 'the AIA names <public URL>/ocsp (PCA-API.md §11.14, §11.15)');

my $q = ocsp_query(issuer => $R->{cert}, cert => $good->{cert}, url => $url);
ok($q->{status} && $q->{status} eq 'good', 'openssl ocsp: good') or diag $q->{out} . $q->{err};
my($name_hash) = $q->{out} =~ /Issuer Name Hash: (\w+)/;
ok($q->{verified}, '... Response verify OK against the CA');
ok($q->{nonce_ok}, '... the nonce is echoed');
like($q->{out}, qr/Responder Id: [0-9A-F]{40}/, '... responder ID by key hash');
like($q->{out}, qr/Signature Algorithm: ecdsa-with-SHA384/, "... signed with the CA's SigningAlgorithm");
like($q->{out}, qr/This Update:.*\n\s*Next Update:/, '... thisUpdate and nextUpdate');

my $t0 = time;
revoke($R->{arn}, $bad->{serial}, 'CESSATION_OF_OPERATION');
$q = ocsp_query(issuer => $R->{cert}, cert => $bad->{cert}, url => $url);
ok(($q->{status} // '') eq 'revoked' && $q->{verified}, 'revoked, verified') or diag $q->{out} . $q->{err};
ok(defined $q->{time} && abs($q->{time} - $t0) <= 2, '... with the revocation time');
like($q->{reason} // '', qr/cessationOfOperation/, '... and the reason');

$q = ocsp_query(issuer => $R->{cert}, serial => '7a' . ('5c' x 15), url => $url);
ok(($q->{status} // '') eq 'unknown' && $q->{verified}, 'a serial the CA never issued: unknown, verified');

$q = ocsp_query(issuer => $R->{cert}, cert => $good->{cert}, url => $url, nonce => 0);
ok(($q->{status} // '') eq 'good' && $q->{verified} && $q->{out} !~ /OCSP Nonce/, 'without a nonce: none in the answer');
$q = ocsp_query(issuer => $R->{cert}, cert => $good->{cert}, url => $url, sha256 => 1);
ok(($q->{status} // '') eq 'good' && $q->{out} =~ /Hash Algorithm: sha256/, 'a CertID hashed with SHA-256');

# The GET form: /ocsp/<url-encoded base64> (RFC 6960 A.1), '/' as %2F or as is.
my $req = ocsp_request_der(issuer => $R->{cert}, cert => $bad->{cert}) // '';
my $b64 = encode_base64($req, '');
(my $enc = $b64) =~ s{([/+=])}{sprintf '%%%02X', ord $1}ge;
my $res = http_get("$url/$enc");
ok($res->code == 200 && ($res->header('Content-Type') // '') eq 'application/ocsp-response'
    && ocsp_response_text($res->content, issuer => $R->{cert}, cert => $bad->{cert}) =~ /: revoked/,
    'GET with the base64 URL-encoded: revoked');
ok(($res->header('Cache-Control') // '') =~ /max-age=\d+/, '... cacheable until nextUpdate (RFC 5019)');
my $raw = raw_http(GET => "/ocsp/$b64");
ok($raw->{code} == 200 && ocsp_response_text($raw->{body}, issuer => $R->{cert}, cert => $bad->{cert}) =~ /: revoked/,
    'GET with the base64 as is (slashes and all)');
(my $safe = $b64) =~ tr{+/}{-_};
$safe =~ s/=+$//;
$res = http_get("$url/$safe");
ok($res->code == 200 && ocsp_response_text($res->content) =~ /successful/, 'GET with the URL-safe alphabet');
$res = http_post($url, $req, 'Content-Type' => 'application/ocsp-request');
ok($res->code == 200 && ($res->header('Cache-Control') // '') =~ /no-cache/, 'POST: not cacheable');

# Garbage in: malformedRequest (RFC 6960 §2.3), never a crash.
$res = http_post($url, 'this is not DER', 'Content-Type' => 'application/ocsp-request');
like(ocsp_response_text($res->content), qr/malformedrequest/i, 'POST of garbage: malformedRequest');
$res = http_post($url, substr($req, 0, length($req) - 3), 'Content-Type' => 'application/ocsp-request');
like(ocsp_response_text($res->content), qr/malformedrequest/i, 'POST of a truncated request: malformedRequest');
$res = http_post($url, 'x' x 70000, 'Content-Type' => 'application/ocsp-request');
ok($res->code == 200 && ocsp_response_text($res->content) =~ /malformedrequest/i, 'POST of 70 kB: malformedRequest');
$res = http_get("$url/!!!not-base64!!!");
like(ocsp_response_text($res->content), qr/malformedrequest/i, 'GET of garbage: malformedRequest');

# CAs we do not answer for: unauthorized.
my $ext = make_openssl_root(cn => 'Foreign Root');
my $foreign = $ext ? openssl_sign_csr($ext, openssl_key_csr(subj => '/CN=foreign')->{csr},
                                      ext => "basicConstraints=CA:FALSE\n") : undef;
$q = ocsp_query(issuer => $ext ? $ext->{cert} : '', cert => $foreign // '', url => $url);
like($q->{out} . $q->{err}, qr/unauthorized/i, 'a certificate of a CA we do not have: unauthorized');
my $N = crl_root(cn => uniq('No OCSP'), crl => { ocsp => 0 });
my $nl = $N ? issue_leaf($N) : undef;
ok($nl && !ocsp_url($nl->{cert}), 'OCSP disabled: no AIA in issued certificates');
$q = ocsp_query(issuer => $N ? $N->{cert} : '', cert => $nl ? $nl->{cert} : '', url => $url);
like($q->{out} . $q->{err}, qr/unauthorized/i, '... and the responder does not answer for it: unauthorized');

# Turning OCSP off and on again (the responder remembers which CA answered).
api(UpdateCertificateAuthority => { CertificateAuthorityArn => $R->{arn},
    RevocationConfiguration => { OcspConfiguration => { Enabled => JSON::PP::false() } } });
$q = ocsp_query(issuer => $R->{cert}, cert => $good->{cert}, url => $url);
like($q->{out} . $q->{err}, qr/unauthorized/i, 'OCSP turned off by UpdateCertificateAuthority: unauthorized');
api(UpdateCertificateAuthority => { CertificateAuthorityArn => $R->{arn},
    RevocationConfiguration => { OcspConfiguration => { Enabled => JSON::PP::true() } } });
$q = ocsp_query(issuer => $R->{cert}, cert => $good->{cert}, url => $url);
ok(($q->{status} // '') eq 'good', '... and on again: good');

# Same subject, other key: the key hash tells the CAs apart.
my $twin = crl_root(cn => $rcn, key => 'EC_secp384r1');
my $tl = $twin ? issue_leaf($twin) : undef;
revoke($twin ? $twin->{arn} : '', $tl ? $tl->{serial} : '', 'SUPERSEDED');
$q = ocsp_query(issuer => $twin ? $twin->{cert} : '', cert => $tl ? $tl->{cert} : '', url => $url);
ok(($q->{status} // '') eq 'revoked' && $q->{verified} && $name_hash && $q->{out} =~ /Issuer Name Hash: \Q$name_hash\E/,
    'a CA with the same name and another key answers for its own certificates');

# OcspCustomCname: the AIA names http://<cname> alone; clients POST to "/".
my $O = crl_root(cn => uniq('OCSP CNAME'), revocation => {
    OcspConfiguration => { Enabled => JSON::PP::true(), OcspCustomCname => "127.0.0.1:$port" } });
my $ol = $O ? issue_leaf($O) : undef;
is($ol ? ocsp_url($ol->{cert}) : '', "http://127.0.0.1:$port", 'OcspCustomCname: the AIA is http://<cname>');
$q = ocsp_query(issuer => $O ? $O->{cert} : '', cert => $ol ? $ol->{cert} : '', url => "http://127.0.0.1:$port");
ok(($q->{status} // '') eq 'good' && $q->{verified}, '... and POST / with application/ocsp-request is answered')
    or diag $q->{out} . $q->{err};

# A subordinate answers for its own certificates, signed with its own key.
my $S = crl_sub($R, cn => uniq('OCSP Sub'));
my $sl = $S ? issue_leaf($S) : undef;
$q = ocsp_query(issuer => $S ? $S->{cert} : '', cert => $sl ? $sl->{cert} : '', url => $url,
                trust => ($R ? $R->{cert} : '') . ($S ? $S->{cert} : ''));
ok(($q->{status} // '') eq 'good' && $q->{verified}, 'a subordinate CA: good, verified, after all the garbage')
    or diag $q->{out} . $q->{err};

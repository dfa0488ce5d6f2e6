# Answers a process keeps in memory (CRL bytes in src/ops/crl_cache.c, signed OCSP
# responses in src/ops/ocsp_cache.c) are never older than the store: what another process
# writes into the store (here the sqlite3 or redis-cli client, as another host would) or
# what the API changes shows in the very next answer, however often the same request
# was answered before.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;

plan tests => 13, need_module('acmpca');
use_vhost();

my $R = crl_root(cn => uniq('Fresh Root'));
my $leaf = $R ? issue_leaf($R, cn => 'fresh leaf') : undef;
ok($R && $leaf, 'a root with CRL and OCSP, a leaf');
my $ocsp = $leaf ? ocsp_url($leaf->{cert}) : '';
my $crl = $leaf ? cdp_url($leaf->{cert}) : '';
my $id = $R ? $R->{id} : '';
my $serial = $leaf ? $leaf->{serial} : '';

# The same request bytes each time (no nonce): what the responder may answer again.
my $req = $leaf ? ocsp_request_der(issuer => $R->{cert}, cert => $leaf->{cert}, nonce => 0) // '' : '';
sub ocsp_status {
    my $res = http_post($ocsp, $req, 'Content-Type' => 'application/ocsp-request');
    my $t = ocsp_response_text($res->content, issuer => $R->{cert}, cert => $leaf->{cert});
    return $t =~ /: (good|revoked|unknown)\b/ ? $1 : $t =~ /Responder Error: (\w+)/ ? $1 : '';
}
sub statuses { join ',', map { ocsp_status() } 1 .. $_[0] }

is(statuses(4), 'good,good,good,good', 'OCSP: the same request four times: good');
# A first CRL, so that turning CRLs off and on below finds an object from before.
ok(http_get($crl)->code == 200, 'a first CRL, from before the store changes under it');
# Written straight into the store: the CA's record (and so its version) stays as it was.
store_revoke_quietly($id, $serial, time * 1_000_000, 'KEY_COMPROMISE');
is(statuses(4), 'revoked,revoked,revoked,revoked',
    '... revoked in the store by another process: the very next answer says revoked');

my $rc = $R ? { %{ $R->{revocation} } } : {};
$rc->{OcspConfiguration} = { Enabled => JSON::PP::false() };
my($st) = api(UpdateCertificateAuthority => { CertificateAuthorityArn => $R ? $R->{arn} : '',
                                              RevocationConfiguration => $rc });
is($st, 200, 'OCSP turned off (UpdateCertificateAuthority)');
is(ocsp_status(), 'unauthorized', '... the next answer: unauthorized');

# CRLs: the bytes kept per CA record version, at /crl/<id>.crl (the object at the CDP's
# /<bucket>/crl/<id>.crl stays when CRLs are turned off, as it would in S3).
my($base) = $crl =~ m{^(https?://[^/]+)};
my $short = ($base // '') . "/crl/$id.crl";
my $a = http_get($short);
my $b = http_get($short);
ok($a->code == 200 && $b->code == 200 && $a->content eq $b->content, 'CRL: twice the same bytes');
$rc->{CrlConfiguration} = { Enabled => JSON::PP::false() };
($st) = api(UpdateCertificateAuthority => { CertificateAuthorityArn => $R ? $R->{arn} : '',
                                            RevocationConfiguration => $rc });
is($st, 200, 'CRL turned off (UpdateCertificateAuthority)');
is(http_get($short)->code, 404, '... the next download: 404');
$rc->{CrlConfiguration} = $R ? $R->{revocation}{CrlConfiguration} : {};
($st) = api(UpdateCertificateAuthority => { CertificateAuthorityArn => $R ? $R->{arn} : '',
                                            RevocationConfiguration => $rc });
is($st, 200, 'CRL turned on again');
my $c = http_get($short);
ok($c->code == 200 && crl_entries(crl_text($c->content))->{$serial},
    '... the next download: a CRL built afresh (not the object from before), with the '
    . 'revocation the store holds');
my $leaf2 = $R ? issue_leaf($R, cn => 'fresh leaf 2') : undef;
ok(revoke($R ? $R->{arn} : '', $leaf2 ? $leaf2->{serial} : '', 'SUPERSEDED'), 'another revocation (API)');
ok(crl_entries(crl_text(http_get($short)->content))->{ $leaf2 ? $leaf2->{serial} : '' }
    && crl_entries(crl_text(http_get($crl)->content))->{ $leaf2 ? $leaf2->{serial} : '' },
    '... in the next download, at both URLs');

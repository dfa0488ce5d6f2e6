# Revocations that do not wait for their CRL (ACMPCACrlSyncTime; issue 7): the vhost
# acmpca_certquota has ACMPCACrlSyncTime 0, so each revocation answers before its CRL is
# rebuilt and the process's CRL builder thread republishes it right after. It does so in
# well under the 15 s after which the CRL job repairs a CRL that lacks revocations
# (src/ops/crl_job.c): a CRL with the revocation within 10 s is the builder's, which the
# log line of the build (no request: a thread of its own) confirms. A CA there may issue
# three certificates: its own and two leaves.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;

plan tests => 8, need_module('acmpca');
use_vhost('acmpca_certquota');

my $R = crl_root(cn => uniq('Builder Root'));
my $L1 = $R && issue_leaf($R);
my $L2 = $R && issue_leaf($R);
my $crl_url = $L1 && cdp_url($L1->{cert});
my $n0 = $crl_url && crl_number(crl_der_from_url($crl_url) // '');
ok($R && $L1 && $L2 && $n0, 'a root with a CRL and two leaves') or BAIL_OUT('no CA');

# The CRL of $L's revocation, once it is out (within $secs), or undef.
sub crl_with {
    my($L, $secs) = @_;
    my $der;
    wait_for(sub {
        $der = crl_der_from_url($crl_url);
        $der && crl_entries(crl_text($der))->{ $L->{serial} };
    }, $secs) ? $der : undef;
}

ok(revoke($R->{arn}, $L1->{serial}, 'KEY_COMPROMISE'), 'RevokeCertificate answers');
ok(error_log_lines(qr/ACMPCA0712: CA \Q$R->{id}\E: the CRL builder of this process republishes/),
   'it left its CRL to the CRL builder thread');
my $o = ocsp_query(issuer => $R->{cert}, cert => $L1->{cert}, url => ocsp_url($L1->{cert}));
is($o->{status}, 'revoked', 'OCSP answers "revoked" at once');

my $der = crl_with($L1, 10);
ok($der && crl_verify($der, $R->{cert}) && (crl_number($der) // 0) > $n0,
   'within 10 s a new CRL, signed by the CA, lists it');
ok(error_log_lines(qr/ACMPCA0702: CA \Q$R->{id}\E: CRL \d+ published .*, revocation, [\d.]+ s\)\s*$/),
   'built by the builder thread (a build logged without a request)');

ok(revoke($R->{arn}, $L2->{serial}, 'SUPERSEDED'), 'a second revocation answers');
my $der2 = crl_with($L2, 10);
my $e = $der2 ? crl_entries(crl_text($der2)) : {};
ok($e->{ $L1->{serial} } && $e->{ $L2->{serial} } && crl_number($der2) > crl_number($der),
   'the next CRL lists both');

# A CA with 100,000 revoked certificates (issue 4; PCA-API.md §7.4): seeded straight
# into the store with sqlite3 or redis-cli (issuing that many through the API would take long),
# then one real revocation through the API rebuilds the CRL. It is correct (every
# entry, reasons, verifies), built in seconds, and the workers' memory stays bounded:
# the entries are streamed into DER bytes, never held as OpenSSL objects.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;
use Time::HiRes ();

use constant N => 100_000;
# Peak memory a worker may gain while building and serving the CRL. The CRL itself is
# about 4.5 MB; 100,000 X509_REVOKED objects alone would be well over 30 MB.
use constant MAX_GROWTH_KB => 24 * 1024;

plan tests => 13, need_module('acmpca');
use_vhost();

SKIP: {
    my $tool = store_db() ? '/usr/bin/sqlite3' : '/usr/bin/redis-cli';
    skip "$tool is not installed (scripts/deps.sh)", 13 unless -x $tool;

    my $R = crl_root(cn => uniq('Large CRL Root'));
    my $L = issue_leaf($R);
    my $L2 = issue_leaf($R);
    my $n0 = crl_number(crl_der_from_url(cdp_url($L->{cert}))) // 0;
    ok($R && $L && $L2 && $n0, 'a root with a CRL and two leaves');
    my $seed = seed_revoked($R->{id}, N);
    ok($seed->{rc} == 0, 'seeded ' . N . ' revoked certificates') or diag $seed->{err};

    # Peak RSS of every child before (the build may land in any of them).
    my %hwm0 = map { $_ => vm_hwm($_) // 0 } children();
    my $t0 = Time::HiRes::time();
    ok(revoke($R->{arn}, $L->{serial}, 'KEY_COMPROMISE'), 'RevokeCertificate rebuilds the CRL');
    my $secs = Time::HiRes::time() - $t0;
    ok($secs < 30, sprintf 'the revocation, CRL of %d entries included, took %.1f s', N + 1, $secs);

    my $t1 = Time::HiRes::time();
    my $der = crl_der_from_url(cdp_url($L->{cert}));
    diag sprintf 'CRL: %d bytes, fetched in %.2f s', length($der // ''), Time::HiRes::time() - $t1;
    ok($der && crl_verify($der, $R->{cert}), 'openssl crl -verify accepts it');
    my $e = crl_entries(crl_text($der));
    is(scalar keys %$e, N + 1, 'every revoked certificate is on it, once');
    my @bad;
    for my $i (1, 2, 3, 4242, N) {
        my $s = sprintf '7e%030x', $i;
        my $want = { 0 => 'Key Compromise', 1 => 'Superseded', 2 => undef }->{ $i % 3 };
        push @bad, "$s: " . ($e->{$s} ? ($e->{$s}{reason} // 'no reason') : 'missing')
            unless $e->{$s} && ($e->{$s}{reason} // '') eq ($want // '');
    }
    ok(!@bad && ($e->{ $L->{serial} }{reason} // '') eq 'Key Compromise', 'entries with their reasons (none for UNSPECIFIED)')
        or diag join "\n", @bad;
    ok((crl_number($der) // 0) > $n0, 'a new CRL number');

    my %hwm1 = map { $_ => vm_hwm($_) // 0 } children();
    my $growth = 0;
    for my $pid (keys %hwm1) {
        my $g = $hwm1{$pid} - ($hwm0{$pid} // $hwm1{$pid});
        $growth = $g if $g > $growth;
    }
    diag "largest growth of a child's peak RSS: $growth kB";
    # Under make test-asan, ASan's quarantine and redzones make any RSS bound meaningless.
    ok($growth < MAX_GROWTH_KB || $ENV{ACMPCA_TEST_ASAN},
       "the workers' peak memory grew by at most " . MAX_GROWTH_KB / 1024 . ' MB');

    # The CRL now covers more than ACMPCACrlSyncEntries (100,000 by default): the next
    # revocation answers without rebuilding it, OCSP says "revoked" at once, and the CRL
    # job (every 3 s here) republishes the CRL with it.
    my $n1 = crl_number($der) // 0;
    ok(revoke($R->{arn}, $L2->{serial}, 'SUPERSEDED'), 'a revocation on the big CRL answers');
    my $o = ocsp_query(issuer => $R->{cert}, cert => $L2->{cert}, url => ocsp_url($L2->{cert}));
    is($o->{status}, 'revoked', 'OCSP answers "revoked" at once');
    ok(error_log_lines(qr/ACMPCA0711: CA \Q$R->{id}\E: the CRL job republishes/),
       'the revocation left the CRL to the job');
    my $der2;
    ok(wait_for(sub {
        $der2 = crl_der_from_url(cdp_url($L->{cert}));
        $der2 && (crl_number($der2) // 0) > $n1
            && (crl_entries(crl_text($der2))->{ $L2->{serial} } // {})->{reason};
    }, 60), 'the job republished the CRL with it') or diag 'CRL number ' . (crl_number($der2 // '') // '?');
}

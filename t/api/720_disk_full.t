# Crash safety (issue 8): the disk of the store fills up. A small tmpfs is mounted for the
# data directory of a private httpd and filled to the last byte: writes answer a clear
# AWS-style 5xx (ServiceUnavailable), the error log says why, no partial record is left
# (no certificate, no idempotency claim, no revocation), reads and the previous CRL are
# still served, and once space returns the next request -- the same retry -- succeeds.
#
# Needs root (mount); skipped otherwise.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke qw(revocation_config crl_number);
use ACMPCA::Private;
use File::Path ();
use File::Spec::Functions qw(catfile catdir);

# Private servers with a sqlite store of their own: once per `make test`, not again in
# the redis run (make api-redis), which would test the same thing.
if ($ENV{ACMPCA_TEST_STORE}) {
    plan skip_all => 'runs in the sqlite pass of the suite';
}

if ($> != 0) {
    plan skip_all => 'mounting a tmpfs needs root';
}
plan tests => 17, need_module('acmpca');

my $mnt;
my $s = ACMPCA::Private->new(name => 'diskfull', data => undef);
$mnt = catdir($s->root, 'mnt');
File::Path::mkpath($mnt);
my $m = run_cmd(['/bin/mount', '-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'tmpfs', $mnt], timeout => 30);
END { run_cmd(['/bin/umount', '-l', $mnt], timeout => 30) if $mnt && $m && $m->{rc} == 0 }
ok($m->{rc} == 0, 'an 8 MB tmpfs for the store') or BAIL_OUT("mount failed: $m->{err}");
# The module makes the store's directory and hands it to the workers' user.
$s->{data} = catdir($mnt, 'db');
$s->write_conf;
ok($s->start, 'a private httpd answers, its store on the tmpfs') or BAIL_OUT('no private server');

my $CA = $s->with(sub { make_root_active(cn => uniq('Full Root'),
    extra => { RevocationConfiguration => revocation_config(bucket => 'full-crl') }) });
ok($CA, 'an ACTIVE root CA with CRLs') or BAIL_OUT('no CA');
my($ca_id) = $CA->{arn} =~ m{/([0-9a-f-]{36})$};
my $k = openssl_key_csr(subj => '/CN=full.example.com');
my %issue = (CertificateAuthorityArn => $CA->{arn}, Csr => b64($k->{csr}),
             SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'DAYS', Value => 7 });
my($st, $j) = $s->api(IssueCertificate => { %issue, IdempotencyToken => 'before-full' });
my $kept = $j && $j->{CertificateArn};
my($kept_serial) = ($kept // '') =~ m{/certificate/([0-9a-f]+)$};
my $crl_url = $s->endpoint . "/crl/$ca_id.crl";
my $crl_before = ACMPCA::Revoke::http_get($crl_url);
my $n_before = $crl_before->code == 200 ? crl_number($crl_before->content) : undef;
ok($kept && defined $n_before, "a certificate issued and CRL number $n_before served before the disk fills")
    or diag("issue: $st");

sub counts {
    my $c = $s->sqlite("SELECT (SELECT COUNT(*) FROM certs), (SELECT COUNT(*) FROM idempotency), "
        . "(SELECT COUNT(*) FROM certs WHERE revoked_at IS NOT NULL), (SELECT COUNT(*) FROM objects)");
    $c ? [split /\|/, $c =~ s/\s+$//r] : undef;
}

# Fill it. The WAL is emptied first: a write into space the WAL file already holds would
# not need a new block, and would not meet the full disk.
$s->sqlite('PRAGMA wal_checkpoint(TRUNCATE);');
my $before = counts();
my $filler = catfile($mnt, 'filler');
run_cmd(['/bin/dd', 'if=/dev/zero', "of=$filler", 'bs=64k'], timeout => 60);
my $df = run_cmd(['/bin/df', '-k', '--output=avail', $mnt], timeout => 30);
my($avail) = $df->{out} =~ /(\d+)\s*$/;
ok(defined $avail && $avail == 0, 'the tmpfs is full') or diag($df->{out});

my $log_at = length $s->error_log;
($st, $j, my $res) = $s->api(IssueCertificate => { %issue, IdempotencyToken => 'during-full' });
ok($st >= 500 && $j && ($j->{__type} // '') =~ /^(ServiceUnavailable|InternalFailure)$/ && $j->{message}
   && $res->header('x-amzn-RequestId'),
   'IssueCertificate on a full disk: an AWS-style 5xx') or diag("$st " . ($res ? $res->content : ''));
is($st, 503, '... 503 ServiceUnavailable, a condition that passes');
($st, $j) = $s->api(RevokeCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateSerial => $kept_serial // '00',
                                            RevocationReason => 'KEY_COMPROMISE' });
ok($st >= 500 && ($j->{__type} // '') =~ /^(ServiceUnavailable|InternalFailure)$/, 'RevokeCertificate too')
    or diag("$st " . json_encode($j));
my $log = substr $s->error_log, $log_at;
like($log, qr/ACMPCA\d{4}: .*(No space left on device|disk|full)/i, 'the error log says the disk is full')
    or diag(substr $log, 0, 3000);

# Reads go on; nothing half-written.
($st) = $s->api(GetCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateArn => $kept // '' });
is($st, 200, 'GetCertificate of an earlier certificate still works');
my $crl_now = ACMPCA::Revoke::http_get($crl_url);
ok($crl_now->code == 200 && crl_number($crl_now->content) == $n_before, 'the previous CRL is still served');
is_deeply(counts(), $before, 'no partial record: the same certificates, claims, revocations and objects');
is($s->sqlite('PRAGMA integrity_check;'), "ok\n", 'the store passes PRAGMA integrity_check');

# Space returns: the very retry that failed succeeds, once.
unlink $filler;
($st, $j) = $s->api(IssueCertificate => { %issue, IdempotencyToken => 'during-full' });
my $after = $j && $j->{CertificateArn};
is($st, 200, 'once space returns, the retried IssueCertificate succeeds');
my($st2, $j2) = $s->api(IssueCertificate => { %issue, IdempotencyToken => 'during-full' });
ok($st2 == 200 && $after && $j2->{CertificateArn} eq $after, '... and its token names that one certificate');
($st) = $s->api(RevokeCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateSerial => $kept_serial // '00',
                                        RevocationReason => 'KEY_COMPROMISE' });
my $crl_after = ACMPCA::Revoke::http_get($crl_url);
ok($st == 200 && $crl_after->code == 200 && crl_number($crl_after->content) > $n_before,
   'the revocation goes through and a newer CRL is served');
my @crash = grep { /exit signal|Segmentation|double free|AddressSanitizer/ } split /\n/, $s->error_log;
ok(!@crash, 'no child crashed') or diag(join "\n", @crash);
$s->stop;

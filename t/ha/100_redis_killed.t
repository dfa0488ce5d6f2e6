# Redis killed under load (issue 6): a private httpd (ACMPCA::Private) on a private
# redis-server (scripts/redis-server.sh, AOF on), four clients issuing and revoking as an
# SDK would (a 5xx retried with the same IdempotencyToken). The server is killed twice,
# with kill -9 and with SIGTERM, and started again a few seconds later. Meanwhile:
#  - the clients get AWS-style 5xx answers (ServiceUnavailable or InternalFailure, which
#    the SDKs retry), never a dropped connection or another error;
#  - no worker crashes, and the error log names the store failure;
#  - once redis is back the service resumes by itself: every request ends with a 200;
#  - every certificate whose IssueCertificate answered 200 is retrievable afterwards,
#    no serial is used twice, every acknowledged revocation is on the CRL (within the
#    15 s of the CRL lock that a build cut short by the outage could not release).
# Every wait is bounded; the servers are stopped whatever happens.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke qw(revocation_config http_get cdp_url crl_text crl_entries wait_for);
use ACMPCA::Issue qw(serial_of);
use ACMPCA::Private;
use ACMPCA::HA qw(load_start load_stop issued_ok outage_ok revoked crash_lines ctl);
use File::Spec::Functions qw(catfile);

my $OUTAGE = 3;    # seconds redis stays down

plan skip_all => 'redis-server is not installed (scripts/deps.sh)'
    unless -x '/usr/bin/redis-server';
plan tests => 17, need_module('acmpca');

my $rdir = catfile(tmpdir(), 'redis');
my($rc, $spec) = ctl('redis-server.sh', 'start', $rdir);
END { ctl('redis-server.sh', 'stop', $rdir) if $rdir }
ok(!$rc && $spec =~ m{^redis://127\.0\.0\.1:(\d+)/0$}, "a private redis-server ($spec)")
    or BAIL_OUT('no redis-server');
my $port = $1;

my $S = ACMPCA::Private->new(name => 'ha-kill', store => "$spec?timeout=1000",
    extra => "ACMPCACrlRefreshInterval 2\nACMPCAAuditReportInterval 0\nLogLevel info acmpca:debug");
ok($S->start, 'a private httpd on it') or BAIL_OUT('the private server did not start');
my $parent = $S->pid;
my $CA = $S->with(sub { make_root_active(cn => uniq('HA Kill Root'),
                                         extra => { RevocationConfiguration => revocation_config(bucket => 'ha-kill') }) });
ok($CA, 'an ACTIVE root CA with a CRL') or BAIL_OUT('no CA');

# Gone, or a zombie (its parent, the start script, has exited; init reaps it late).
sub gone {
    my $pid = shift;
    return 1 unless kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    (<$fh> // '') =~ /^\d+ \(.*?\) Z/;
}

my @results;
for my $sig ('KILL', 'TERM') {
    my $load = load_start($S, $CA, clients => 4);
    sleep 2;
    chomp(my $pid = ACMPCA::Test::read_file(catfile($rdir, 'server.pid')));
    kill $sig, $pid;
    my $down = wait_for(sub { gone($pid) }, 15);
    sleep $OUTAGE;
    my($src) = ctl('redis-server.sh', 'start', $rdir, $port);
    sleep 3;
    my $res = load_stop($load);
    ok($down && !$src, "redis-server killed with SIG$sig under load, started again ${OUTAGE}s later");
    outage_ok($res, errors => 1, when => 'once redis was back, ');
    push @results, @$res;
}

my $log = $S->error_log;
my @crash = crash_lines($log);
ok(!@crash, 'no worker crashed') or diag join "\n", @crash;
like($log, qr/ACMPCA0401: redis cannot connect to 127\.0\.0\.1:$port\/0: /, 'the error log names the store failure');
is($S->pid, $parent, 'the same httpd all along (no restart)');

my @arns = issued_ok(\@results);
my $missing = grep {
    my($s) = $S->api(GetCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateArn => $_ });
    $s != 200;
} @arns;
is($missing, 0, '... every one of them retrievable afterwards');

my @rev = revoked(\@results);
my $leaf = $S->with(sub { get_cert($CA->{arn}, $arns[0]) });
my($crl_path) = (cdp_url($leaf->{Certificate}) // '') =~ m{^https?://[^/]+(/.*)$};
my @lacking = @rev;
wait_for(sub {
    my $r = http_get($S->endpoint . ($crl_path // '/'));
    my $e = $r->code == 200 ? crl_entries(crl_text($r->content)) : {};
    @lacking = grep { !$e->{$_} } @rev;
    !@lacking;
}, 45);
ok(@rev > 3, scalar(@rev) . ' revocations acknowledged');
is(scalar @lacking, 0, '... every one of them on the CRL (once the lock of a build cut short expired)')
    or diag 'lacking: ' . join(' ', @lacking[0 .. ($#lacking > 9 ? 9 : $#lacking)]);

$S->stop;

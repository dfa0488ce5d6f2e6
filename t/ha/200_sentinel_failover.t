# A Sentinel failover under load (issue 6): a private httpd (ACMPCA::Private) on
# redis-sentinel:// with wait=1, a private set of a master, a replica and three sentinels
# (scripts/redis-sentinel.sh, quorum 2, AOF on), four clients issuing and revoking as an
# SDK would. The master moves twice: SENTINEL FAILOVER, then kill -9 of the master (which
# is started again and rejoins as a replica). Meanwhile and afterwards:
#  - the module follows the new master without a restart (ACMPCA0441 in its log); the
#    clients only ever get AWS-style 5xx answers, and every request ends with a 200;
#  - no acknowledged write is lost: every certificate whose IssueCertificate answered 200
#    is on the final master and retrievable, no serial is used twice, every acknowledged
#    revocation is on the CRL;
#  - the CRL number never goes backwards: the numbers served only grow, the master's
#    counter is at least the highest one served, and the next CRL is above them all.
# Every wait is bounded; the servers are stopped whatever happens.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke qw(revocation_config http_get cdp_url crl_text crl_entries crl_number wait_for);
use ACMPCA::Issue qw(serial_of);
use ACMPCA::Private;
use ACMPCA::HA qw(load_start load_stop issued_ok outage_ok revoked crash_lines crl_watch_start
                  crl_watch_stop ctl);
use File::Spec::Functions qw(catfile);

plan skip_all => 'redis-server or redis-sentinel is not installed (scripts/deps.sh)'
    unless -x '/usr/bin/redis-server' && -x '/usr/bin/redis-sentinel';
plan tests => 22, need_module('acmpca');

my $sdir = catfile(tmpdir(), 'sentinel');
my($rc, $spec) = ctl('redis-sentinel.sh', 'start', $sdir);
my $set = -s catfile($sdir, 'current') ? ACMPCA::Test::read_file(catfile($sdir, 'current')) : undef;
chomp $set if $set;
END { ctl('redis-sentinel.sh', 'stop', $set) if $set }
ok(!$rc && $set && $spec =~ m{^redis-sentinel://127\.0\.0\.1:\d+,.*/acmpca/0$},
   "a master, a replica and three sentinels ($spec)") or BAIL_OUT('no sentinel set');

sub master { (ctl('redis-sentinel.sh', 'master', $set))[1] }
sub on_master {
    my $r = run_cmd(['redis-cli', '-p', master(), @_], timeout => 60);
    chomp(my $out = $r->{out} // '');
    $out;
}

my $S = ACMPCA::Private->new(name => 'ha-sentinel',
    store => "$spec?timeout=1000&wait=1&wait_timeout=1000&failover_wait=3000",
    extra => "ACMPCACrlRefreshInterval 2\nACMPCAAuditReportInterval 0\nLogLevel info acmpca:debug");
ok($S->start, 'a private httpd on it, with wait=1') or BAIL_OUT('the private server did not start');
my $parent = $S->pid;
my $CA = $S->with(sub { make_root_active(cn => uniq('HA Sentinel Root'),
                                         extra => { RevocationConfiguration => revocation_config(bucket => 'ha-sentinel') }) });
ok($CA, 'an ACTIVE root CA with a CRL') or BAIL_OUT('no CA');
my($ca_id) = $CA->{arn} =~ m{/([0-9a-f-]{36})$};
my $first = $S->with(sub { my $l = ACMPCA::Revoke::issue_leaf($CA); $l });
my($crl_path) = (cdp_url($first ? $first->{cert} : '') // '') =~ m{^https?://[^/]+(/.*)$};
ok($crl_path, 'a leaf names the CRL');
my $crl_url = $S->endpoint . ($crl_path // '/');
my $watch = crl_watch_start($crl_url);

my @results;
for my $how ('failover', 'kill-master') {
    my $before = master();
    my $load = load_start($S, $CA, clients => 4);
    sleep 2;
    my($frc, $after) = ctl('redis-sentinel.sh', $how, $set);
    sleep 3;
    my $res = load_stop($load);
    ok(!$frc && $after && $after ne $before, "$how under load: the master moved from $before to "
       . ($after // '?'));
    like($S->error_log, qr/ACMPCA0441: redis sentinel: master acmpca is now at 127\.0\.0\.1:$after /,
         '... and the module followed it (ACMPCA0441)');
    outage_ok($res);
    push @results, @$res;
}
my @served = crl_watch_stop($watch);

my $log = $S->error_log;
my @crash = crash_lines($log);
ok(!@crash, 'no worker crashed') or diag join "\n", @crash;
is($S->pid, $parent, 'the same httpd all along (no restart)');

my @arns = issued_ok(\@results);
my @keys = map { "acmpca:{$ca_id}:cert:" . serial_of($_) } @arns;
my $on = on_master('EVAL', "local n = 0 for _, k in ipairs(KEYS) do n = n + redis.call('EXISTS', k) end return n",
                   scalar(@keys), @keys);
is($on, scalar @arns, '... every one of them on the final master');
my $missing = grep {
    my($s) = $S->api(GetCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateArn => $_ });
    $s != 200;
} @arns;
is($missing, 0, '... and retrievable through the module');

my @rev = revoked(\@results);
my @lacking = @rev;
my $last = 0;
wait_for(sub {
    my $r = http_get($crl_url);
    return 0 unless $r->code == 200;
    my $e = crl_entries(crl_text($r->content));
    $last = crl_number($r->content) // 0;
    @lacking = grep { !$e->{$_} } @rev;
    !@lacking;
}, 45);
is(scalar @lacking, 0, scalar(@rev) . ' acknowledged revocations, every one on the CRL')
    or diag "CRL $last lacks: @lacking";

my($max, $down) = (0, 0);
for my $n (@served) {
    $down++ if $n < $max;
    $max = $n if $n > $max;
}
ok(@served > 10 && !$down, sprintf('the CRL numbers served during the failovers never went back (%d reads, up to %d)',
                                   scalar @served, $max))
    or diag "served: @served";
my $counter = on_master('GET', "acmpca:counter:crl:$ca_id");
ok($counter =~ /^\d+$/ && $counter >= $max, "the final master's CRL counter ($counter) is at least the highest number served");
# One more revocation: its CRL is built on the final master.
my $extra = $S->with(sub { ACMPCA::Revoke::issue_leaf($CA) });
$S->api(RevokeCertificate => { CertificateAuthorityArn => $CA->{arn},
                               CertificateSerial => $extra ? $extra->{serial} : '',
                               RevocationReason => 'SUPERSEDED' });
my $next = wait_for(sub {
    my $r = http_get($crl_url);
    my $n = $r->code == 200 ? crl_number($r->content) // 0 : 0;
    $n > $max ? $n : 0;
}, 45);
ok($next, "the next CRL ($next) is above every one served before");

$S->stop;

# scripts/run.sh (what `make run` runs), as a user runs it: it prepares a runtime
# directory, prints the environment and the steps that take a ROOT CA to ACTIVE,
# serves the API on 127.0.0.1 in the foreground, stops cleanly on Ctrl-C (SIGINT
# to its process group), and a second start keeps the data and the keys. As
# root, a runtime directory www-data cannot reach puts the store under /var/tmp.
# Each server here is a separate httpd on a free loopback port.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use File::Spec::Functions qw(catfile);
use File::Temp ();
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();

plan tests => 25, need_module('acmpca');

my $top   = Apache::Test::vars('top_dir');
my $so    = Apache::Test::vars('acmpca_module');
my $httpd = Apache::Test::vars('httpd');
my $script = catfile $top, 'scripts', 'run.sh';

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    $p;
}

my @started;
END { kill 'KILL', -$_ for @started }    # never leave a server behind

# start($rundir, $port) -> {pid, out, err}; run.sh in its own process group.
sub start {
    my($rundir, $port) = @_;
    my $out = catfile tmpdir(), "run-$port.out";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setpgid(0, 0);
        $SIG{INT} = $SIG{TERM} = 'DEFAULT';
        @ENV{qw(RUNDIR PORT HTTPD MODULE STORE)} = ($rundir, $port, $httpd, $so, '');
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>', "$out.err";
        { no warnings 'exec'; exec '/bin/sh', $script; }
        POSIX::_exit(127);
    }
    push @started, $pid;
    { pid => $pid, out => $out, port => $port, rundir => $rundir };
}

sub creds_of { my $c = json_decode(read_file(catfile $_[0], 'credentials.json')) || {}; ($c->{Credentials} || [])->[0] }

# Wait until the API answers (signed with the run's own key); bounded.
sub wait_up {
    my($run, $secs) = @_;
    my $deadline = time + ($secs // 30);
    while (time < $deadline) {
        if (-s catfile($run->{rundir}, 'env') && (my $c = creds_of($run->{rundir}))) {
            my $res = raw_post('ACMPrivateCA.ListCertificateAuthorities', '{}', -hostport => "127.0.0.1:$run->{port}", -credentials => $c);
            return 1 if $res->code == 200;
        }
        return 0 if waitpid($run->{pid}, POSIX::WNOHANG()) == $run->{pid};
        Time::HiRes::sleep(0.2);
    }
    0;
}

# Stop like Ctrl-C does (the signal goes to the whole process group); returns
# run.sh's exit status, or undef if it did not exit within the deadline.
sub stop {
    my($run, $sig) = @_;
    kill $sig // 'INT', -$run->{pid};
    my $deadline = time + 30;
    while (time < $deadline) {
        if (waitpid($run->{pid}, POSIX::WNOHANG()) == $run->{pid}) {
            @started = grep { $_ != $run->{pid} } @started;
            return $? >> 8;
        }
        Time::HiRes::sleep(0.1);
    }
    undef;
}

sub port_closed { !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $_[0], Timeout => 2) }
sub mode { (stat $_[0])[2] & 07777 }
sub api_at {
    my($run, $op, $body) = @_;
    my $res = raw_post("ACMPrivateCA.$op", json_encode($body), -hostport => "127.0.0.1:$run->{port}",
                       -credentials => creds_of($run->{rundir}));
    ($res->code, json_decode($res->content), $res);
}

# ---- a runtime directory www-data can reach
my $parent = File::Temp::tempdir('acmpca-run-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0711, $parent;
my $rundir = "$parent/run";
my $run = start($rundir, free_port());
ok(wait_up($run, 60), 'run.sh starts httpd and the API answers on 127.0.0.1:PORT')
    or diag(read_file("$run->{out}.err"));
my $printed = read_file($run->{out});
my $c = creds_of($rundir) || {};

my $env = -e "$rundir/env" ? read_file("$rundir/env") : '';
my %env = $env =~ /^export (\w+)=(\S*)$/mg;
is_deeply(\%env, { ACMPCA_ENDPOINT => "http://127.0.0.1:$run->{port}", AWS_ACCESS_KEY_ID => $c->{AccessKeyId} // 'x',
                   AWS_SECRET_ACCESS_KEY => $c->{SecretAccessKey} // 'x', AWS_DEFAULT_REGION => 'us-east-1' },
    '$RUNDIR/env exports ACMPCA_ENDPOINT and the run credentials');
like($c->{AccessKeyId} // '', qr/^AKIA[A-Z2-7]{16}$/, 'a fresh access key id of the AWS form');
ok(-s "$rundir/acmpca.kek" == 32 && mode("$rundir/acmpca.kek") == 0600, 'the KEK: 32 bytes, mode 0600');
ok(mode("$rundir/credentials.json") == 0600 && mode("$rundir/env") == 0600, 'credentials.json and env: mode 0600');
my $conf = -e "$rundir/httpd.conf" ? read_file("$rundir/httpd.conf") : '';
is_deeply([$conf =~ /^\s*Listen\s+(\S+)/mg], ["127.0.0.1:$run->{port}"], 'httpd.conf listens on 127.0.0.1:PORT only');
ok($> != 0 || ($conf =~ /^User www-data$/m && $conf =~ /^Group www-data$/m), 'as root, the workers run as www-data');
like($printed, qr/^\s*export AWS_ACCESS_KEY_ID=\Q$c->{AccessKeyId}\E$/m, 'it prints the exports');
like($printed, qr/aws acm-pca create-certificate-authority --endpoint-url/, 'it prints an aws acm-pca example with --endpoint-url');

# Run the printed steps, as pasted into a shell that sourced $RUNDIR/env.
my($steps) = $printed =~ /^Take a ROOT CA to ACTIVE:\n((?:  .*\n)+)/m;
$steps //= '';
$steps =~ s/^  //mg;
my $work = File::Temp::tempdir('acmpca-paste-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $flow = write_file('flow.sh', "set -e\n. '$rundir/env'\ncd '$work'\n$steps");
my $r = run_cmd(['/bin/sh', $flow], env => { %{ client_env() }, PATH => '/usr/bin:/bin:/usr/sbin:/sbin' }, timeout => 180);
my @lines = split /\n/, $r->{out};
my($ca) = $r->{out} =~ m{^(arn:aws:acm-pca:\S+:certificate-authority/\S+)$}m;
ok($r->{rc} == 0 && @lines && $lines[-1] eq 'ACTIVE', 'the printed ROOT-to-ACTIVE steps, pasted into sh, end in ACTIVE')
    or diag("rc=$r->{rc}\n$r->{out}\n$r->{err}");

my $pidfile = "$rundir/httpd.pid";
my $hpid = -e $pidfile ? (read_file($pidfile) =~ /(\d+)/)[0] : 0;
is(stop($run, 'INT'), 0, 'Ctrl-C (SIGINT to the process group) stops run.sh, exit status 0');
ok($hpid && !kill(0, $hpid) && port_closed($run->{port}), '... and httpd is gone, the port closed');

# ---- the second start keeps data and keys
my $kek0 = read_file("$rundir/acmpca.kek");
my $run2 = start($rundir, free_port());
ok(wait_up($run2, 60), 'run.sh starts again on the same runtime directory') or diag(read_file("$run2->{out}.err"));
is(read_file("$rundir/acmpca.kek"), $kek0, 'the KEK is kept');
is((creds_of($rundir) || {})->{AccessKeyId}, $c->{AccessKeyId}, 'the access key is kept');
my($st, $j) = api_at($run2, DescribeCertificateAuthority => { CertificateAuthorityArn => $ca // '' });
is(($j && $j->{CertificateAuthority} || {})->{Status}, 'ACTIVE', 'the CA made before the restart is there, ACTIVE');
($st, $j) = api_at($run2, GetCertificateAuthorityCsr => { CertificateAuthorityArn => $ca // '' });
my $csr = $j && $j->{Csr};
($st, $j) = api_at($run2, IssueCertificate => { CertificateAuthorityArn => $ca // '', Csr => b64($csr // ''),
    SigningAlgorithm => 'SHA256WITHECDSA', TemplateArn => ROOT_TEMPLATE, Validity => { Type => 'YEARS', Value => 1 } });
ok($st == 200 && $j->{CertificateArn}, 'and its key still signs (a renewed root certificate is issued)');
is(stop($run2, 'TERM'), 0, 'SIGTERM stops it too, exit status 0');

# ---- as root: a runtime directory www-data cannot reach
SKIP: {
    skip 'only as root (the workers run as www-data)', 7 unless $> == 0;
    my $closed = File::Temp::tempdir('acmpca-closed-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0700, $closed;
    my $rd = "$closed/run";
    my $run3 = start($rd, free_port());
    ok(wait_up($run3, 60), 'a runtime directory under a mode-0700 parent: run.sh starts')
        or diag(read_file("$run3->{out}.err"));
    my $link = readlink "$rd/data";
    like($link // '', qr{^/var/tmp/acmpca-run-[0-9a-f]{12}/data$}, '$RUNDIR/data links to the store under /var/tmp');
    like(read_file("$run3->{out}.err"), qr/www-data cannot reach/, 'run.sh says why');
    ($st, $j) = api_at($run3, CreateCertificateAuthority => { CertificateAuthorityType => 'ROOT',
        CertificateAuthorityConfiguration => ca_config() });
    ok($st == 200 && $j->{CertificateAuthorityArn}, 'the API works there');
    ok($link && -e "$link/acmpca.db", 'the database is in the /var/tmp store directory');
    is(stop($run3, 'INT'), 0, 'it stops on Ctrl-C');
    my $run4 = start($rd, free_port());
    ok(wait_up($run4, 60) && (api_at($run4, DescribeCertificateAuthority => { CertificateAuthorityArn => $j->{CertificateAuthorityArn} // '' }))[0] == 200,
        'a second start finds the CA again');
    stop($run4, 'TERM');
    (my $base = $link // '') =~ s{/data$}{};
    system('rm', '-rf', $base) if $base =~ m{^/var/tmp/acmpca-run-[0-9a-f]{12}$};
}

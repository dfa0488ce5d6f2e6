# Licensed under the Apache License, Version 2.0.
# A private httpd of the module, for the tests that kill, restart, starve or time-warp a
# server (t/api/7xx_*.t, issue 8): its own ServerRoot, port, error log, store, key and
# credentials, so that nothing they do shows in the suite's server or its logs. The
# suite's httpd, module and MPMs are used (Apache::Test's vars).
#
#   my $s = ACMPCA::Private->new(name => 'kill', mpm => 'event', extra => "...");
#   $s->start or BAIL_OUT(...);
#   $s->with(sub { make_root_active(...) });   # ACMPCA::Test helpers aimed at $s
#   $s->kill_child; $s->graceful; $s->stop;
#
# Every server is stopped when the test process exits, whatever happened.
package ACMPCA::Private;

use strict;
use warnings;

use Carp qw(croak);
use File::Path ();
use File::Spec::Functions qw(catfile catdir);
use File::Temp ();
use MIME::Base64 ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

use Apache::Test ();
use ACMPCA::Test ();

my @ALL;    # every server made, stopped at exit

my %MPMS = (event => 'mpm_event', worker => 'mpm_worker', prefork => 'mpm_prefork');

# A free loopback port: one the kernel picks, or one of ACMPCA_TEST_PORTS ("first-last")
# when set (runs sharing a machine keep to ranges of their own).
sub free_port {
    my($lo, $hi) = ($ENV{ACMPCA_TEST_PORTS} // '') =~ /^(\d+)-(\d+)$/ ? ($1, $2) : (0, 0);
    my $first = $lo + int rand($hi - $lo + 1);
    for my $i (0 .. $hi - $lo) {
        my $try = $lo ? $lo + ($first - $lo + $i) % ($hi - $lo + 1) : 0;
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $try, Listen => 1,
                                      ReuseAddr => 1) or next;
        my $p = $s->sockport;
        close $s;
        return $p;
    }
    croak "no free port" . ($lo ? " in $lo-$hi" : '') . ": $!";
}

# new(name, mpm (event), extra (more config lines, inside the server config), data (the
#     store's directory; default <root>/data), env ({VAR => value} for httpd),
#     store (ACMPCAStore value; default sqlite:<data>/acmpca.db))
sub new {
    my($class, %o) = @_;
    my $self = bless { mpm => 'event', %o }, $class;
    my $name = $o{name} // 'private';
    # Under /tmp and searchable by everyone: the workers run as www-data when we are root.
    my $root = File::Temp::tempdir("acmpca-$name-XXXXXX", TMPDIR => 1, CLEANUP => 0);
    chmod 0711, $root;
    $self->{root} = $root;
    $self->{data} //= catdir($root, 'data');
    $self->{port} = free_port();
    $self->{conf} = catfile($root, 'httpd.conf');
    $self->{pidfile} = catfile($root, 'httpd.pid');
    $self->{error_log} = catfile($root, 'error_log');
    $self->{kek} = catfile($root, 'acmpca.kek');
    $self->{credentials} = catfile($root, 'credentials.json');
    # The suite's credentials, so that ACMPCA::Test::api() signs for this server too.
    _write($self->{credentials}, ACMPCA::Test::read_file(Apache::Test::vars('acmpca_credentials')));
    open my $r, '<:raw', '/dev/urandom' or croak $!;
    read($r, my $key, 32) == 32 or croak 'short read from /dev/urandom';
    _write($self->{kek}, $key);
    $self->write_conf;
    push @ALL, $self;
    $self;
}

sub _write {
    my($file, $bytes) = @_;
    my $old = umask 077;
    open my $fh, '>:raw', $file or croak "$file: $!";
    print $fh $bytes;
    close $fh or croak "$file: $!";
    umask $old;
    chmod 0600, $file;
}

sub hostport { "127.0.0.1:$_[0]{port}" }
sub endpoint { 'http://' . $_[0]->hostport }
sub root { $_[0]{root} }
sub data { $_[0]{data} }
sub db { catfile($_[0]{data}, 'acmpca.db') }
sub error_log { -e $_[0]{error_log} ? ACMPCA::Test::read_file($_[0]{error_log}) : '' }
sub error_log_file { $_[0]{error_log} }
sub kek_file { $_[0]{kek} }

sub write_conf {
    my $self = shift;
    my $moddir = Apache::Test::config()->apxs('LIBEXECDIR');
    my $mpm = $MPMS{ $self->{mpm} } or croak "unknown MPM $self->{mpm}";
    my $so = Apache::Test::vars('acmpca_module');
    my $store = $self->{store} // 'sqlite:' . $self->db;
    my $lines = join "\n",
        "ServerRoot $self->{root}",
        'ServerName 127.0.0.1',
        "LoadModule ${mpm}_module $moddir/mod_$mpm.so",
        "LoadModule authz_core_module $moddir/mod_authz_core.so",
        "LoadModule acmpca_module $so",
        "Listen 127.0.0.1:$self->{port}",
        "PidFile $self->{pidfile}",
        "ErrorLog $self->{error_log}",
        'LogLevel info',
        "DefaultRuntimeDir $self->{root}",
        "Mutex file:$self->{root} default",
        ($> == 0 ? ('User www-data', 'Group www-data') : ()),
        # Small but several children: there must be children to kill and survivors.
        ($self->{mpm} eq 'prefork'
            ? ('StartServers 4', 'MinSpareServers 4', 'MaxSpareServers 8', 'MaxRequestWorkers 32')
            : ('StartServers 2', 'ServerLimit 8', 'ThreadsPerChild 16', 'MinSpareThreads 16',
               'MaxSpareThreads 64', 'MaxRequestWorkers 128')),
        'Timeout 60',
        'GracefulShutdownTimeout 30',
        "ACMPCAStore $store",
        "ACMPCAKeyFile $self->{kek}",
        "ACMPCACredentialsFile $self->{credentials}",
        'ACMPCARegion ' . ACMPCA::Test::REGION(),
        'ACMPCAAccountId ' . ACMPCA::Test::ACCOUNT(),
        'ACMPCAPublicURL ' . $self->endpoint,
        'ACMPCAMaxCertificateAuthorities 1000',
        ($self->{extra} // ()),
        '<Location />', '    SetHandler acmpca', '</Location>', '';
    open my $fh, '>', $self->{conf} or croak "$self->{conf}: $!";
    print $fh $lines;
    close $fh;
}

# The command that runs httpd with the server's environment (faketime, ...).
sub _httpd_cmd {
    my($self, @args) = @_;
    my $httpd = Apache::Test::vars('httpd');
    ($httpd, '-f', $self->{conf}, @args);
}

sub _run_httpd {
    my($self, @args) = @_;
    ACMPCA::Test::run_cmd([$self->_httpd_cmd(@args)], timeout => 60, env => $self->{env} // {});
}

sub pid {
    my $self = shift;
    open my $fh, '<', $self->{pidfile} or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    ($pid && $pid =~ /^\d+$/ && _alive($pid)) ? $pid : undef;
}

# Running, not a zombie.
sub _alive {
    my $pid = shift;
    return 0 unless kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$fh> // '';
    $stat !~ /^\d+ \(.*?\) Z/;
}

# The API answers (any AWS-style answer counts: the server is up).
sub answers {
    my $self = shift;
    my $res = eval { $self->with(sub { ACMPCA::Test::raw_post('ACMPrivateCA.ListCertificateAuthorities', '{"MaxResults":1}') }) };
    $res && $res->header('x-amzn-RequestId') ? $res : undef;
}

sub wait_up {
    my($self, $timeout) = @_;
    my $deadline = Time::HiRes::time() + ($timeout // 60);
    while (Time::HiRes::time() < $deadline) {
        return 1 if $self->pid && $self->answers;
        Time::HiRes::sleep(0.1);
    }
    0;
}

# start(): 1 when the API answers, else 0 with a diag and the error log's tail.
sub start {
    my $self = shift;
    my $r = $self->_run_httpd('-k', 'start');
    if ($r->{rc} != 0 || !$self->wait_up(60)) {
        my $log = $self->error_log;
        $log = substr($log, -2000) if length $log > 2000;
        Test::More::diag("private httpd '$self->{name}' did not start (rc $r->{rc}): $r->{err}\n$log");
        return 0;
    }
    1;
}

# stop(): SIGTERM and a bounded wait; SIGKILL of the whole group after it.
sub stop {
    my($self, $timeout) = @_;
    my $pid = $self->pid or return 1;
    kill 'TERM', $pid;
    my $deadline = Time::HiRes::time() + ($timeout // 30);
    while (_alive($pid) && Time::HiRes::time() < $deadline) { Time::HiRes::sleep(0.1) }
    $self->kill_all if _alive($pid);
    unlink $self->{pidfile};
    !_alive($pid);
}

# graceful(): what `apachectl graceful` does, `httpd -k graceful` (SIGUSR1 to the
# parent, found by its pid file). 1 when it was sent.
sub graceful {
    my $self = shift;
    $self->pid or return 0;
    my $r = $self->_run_httpd('-k', 'graceful');
    $r->{rc} == 0;
}

# Pids of the children of the parent httpd.
sub children {
    my $self = shift;
    my $ppid = $self->pid or return;
    my @kids;
    opendir my $dh, '/proc' or return;
    for my $p (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my $stat = <$fh> // next;
        push @kids, $p if $stat =~ /^\d+ \(.*?\) \S (\d+)/ && $1 == $ppid;
    }
    sort { $a <=> $b } @kids;
}

# Every process of this server (parent, children, orphans of a killed parent): those
# whose command line names its configuration file.
sub processes {
    my $self = shift;
    my @pids;
    opendir my $dh, '/proc' or return;
    for my $p (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$p/cmdline" or next;
        local $/;
        my $cmd = <$fh> // next;
        push @pids, $p if index($cmd, $self->{conf}) >= 0 && $p != $$ && _alive($p);
    }
    @pids;
}

# kill_all(): SIGKILL the whole server at once, as a power cut would; returns when no
# process of it is left (bounded).
sub kill_all {
    my $self = shift;
    my $deadline = Time::HiRes::time() + 15;
    while (my @p = $self->processes) {
        kill 'KILL', @p;
        last if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.1);
    }
    # httpd refuses to start over a pid file whose process still exists, and a killed
    # parent can linger as a zombie where nothing reaps orphans (some containers).
    unlink $self->{pidfile};
    !$self->processes;
}

# kill_child(): SIGKILL one child at random; returns its pid (undef when none).
sub kill_child {
    my $self = shift;
    my @kids = $self->children or return;
    my $victim = $kids[int rand @kids];
    kill 'KILL', $victim;
    $victim;
}

# with(sub { ... }): ACMPCA::Test's helpers (api, make_root_active, ...) talk to this
# server for the duration of the block.
sub with {
    my($self, $code) = @_;
    my $hp = $self->hostport;
    no warnings 'redefine';
    local *ACMPCA::Test::hostport = sub { $hp };
    $code->();
}

# An API call to this server: (status, decoded JSON, response); never dies (a refused or
# dropped connection is status 599 from LWP, or 0).
sub api {
    my($self, $op, $body, %h) = @_;
    my @r = eval { $self->with(sub { ACMPCA::Test::api($op, $body, %h) }) };
    @r ? @r : (0, undef, undef);
}

# sqlite3 on the store: its output, or undef when sqlite3 failed.
sub sqlite {
    my($self, $sql) = @_;
    my $r = ACMPCA::Test::run_cmd(['/usr/bin/sqlite3', '-batch', $self->db, $sql], timeout => 120);
    $r->{rc} == 0 ? $r->{out} : undef;
}

sub DESTROY { }

# The server's own log holds no secret either (issue 8: "no secret in any log", and these
# servers see kills, full disks and restarts the suite's does not): its credentials'
# secrets, its KEK, a PEM private key, a signature. Returns what it found.
sub log_leaks {
    my $self = shift;
    my $c = ACMPCA::Test::json_decode(ACMPCA::Test::read_file($self->{credentials})) // {};
    my @secrets = grep { defined && length >= 8 }
        map { ($_->{SecretAccessKey}, $_->{SessionToken}) } @{ $c->{Credentials} // [] };
    my $kek = ACMPCA::Test::read_file($self->{kek});
    push @secrets, $kek, unpack('H*', $kek), uc unpack('H*', $kek), MIME::Base64::encode_base64($kek, '');
    ACMPCA::Test::secret_leaks($self->error_log, @secrets);
}

sub cleanup {
    my $self = shift;
    $self->stop(10);
    my @leaks = $self->log_leaks;
    if (@leaks) {
        print STDERR "# private httpd '$self->{name}': its error_log ($self->{error_log}) shows: @leaks\n";
        return 0;    # kept for a look
    }
    File::Path::rmtree($self->{root}) if $self->{root} && !$ENV{ACMPCA_KEEP_PRIVATE};
    1;
}

# A leak fails the test file that ran the server, whatever its plan said.
END {
    my $rc = $?;
    my $clean = 1;
    $_->cleanup or $clean = 0 for @ALL;
    @ALL = ();
    $? = $clean ? $rc : ($rc || 1);
}

1;

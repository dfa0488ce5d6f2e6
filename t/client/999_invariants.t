# Invariants after the whole suite (issue 8, Build 4). Numbered to run last:
#  - no log of the suite holds a secret access key, a session token, the KEK (raw, hex
#    or base64), a PEM private key (in clear or base64) or a full SigV4 signature;
#  - the key-encryption key, the credentials file and every store file are mode 0600,
#    the store directories 0700;
#  - server-status, /metrics and the PKI repository reveal none of those secrets either.
# (No-file-on-bad-config is t/api/010_configtest.t; crashed children, t/client/990.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Auth ();
use File::Find ();
use LWP::UserAgent ();
use MIME::Base64 qw(encode_base64);

plan tests => 7, need_module('acmpca');

# What must never be shown.
my @secrets;
for my $file (Apache::Test::vars('acmpca_credentials'), ACMPCA::Auth::auth_credentials_file()) {
    my $c = json_decode(read_file($file)) or next;
    push @secrets, grep { defined && length >= 8 } map { ($_->{SecretAccessKey}, $_->{SessionToken}) } @{ $c->{Credentials} };
}
my $kek = read_file(Apache::Test::vars('acmpca_kek'));
push @secrets, $kek, unpack('H*', $kek), uc unpack('H*', $kek), encode_base64($kek, '');
ok(@secrets >= 8, scalar(@secrets) . ' secrets to look for, and PEM keys and signatures');

sub leaks { secret_leaks(shift, @secrets) }

# Every log of the suite, whatever its name.
my $logs = Apache::Test::vars('t_logs');
my(@files, @bad);
File::Find::find({ no_chdir => 1, wanted => sub { push @files, $_ if -f $_ && !/\.(png|pid)$/ } }, $logs);
for my $f (@files) {
    my @l = leaks(read_file($f));
    push @bad, "$f: @l" if @l;
}
ok(@files >= 2 && !@bad, scalar(@files) . ' log files hold no secret, key or signature') or diag(join "\n", @bad);

# File modes under the data directory.
my $data = Apache::Test::vars('acmpca_data');
my(@loose, $n);
File::Find::find({ no_chdir => 1, wanted => sub {
    return if $_ eq $data;
    my $mode = (stat $_)[2] & 07777;
    if (-d $_) {
        return if /htdocs/;
        push @loose, sprintf('%s %04o', $_, $mode) if $mode & 077;
    }
    elsif (/\.(kek|db|db-wal|db-shm|db-journal)$|credentials\.json$/) {
        $n++;
        push @loose, sprintf('%s %04o', $_, $mode) if $mode != 0600;
    }
} }, $data);
ok($n && !@loose, "$n key, credentials and store files are 0600, their directories closed to others")
    or diag(join "\n", @loose);
ok(!-e "$data/db/acmpca.db" || (stat "$data/db/acmpca.db")[4] == ((getpwnam 'www-data')[2] // $>),
   'the store belongs to the user the workers run as');

# The visible endpoints.
my $ua = LWP::UserAgent->new(timeout => 60, keep_alive => 0);
my $V = 'acmpca_visible';
my $base = endpoint($V);
my %page;
for my $path ('/server-status', '/server-status?auto', '/metrics', '/pki/', '/pki/cas.json') {
    my $res = $ua->get("$base$path");
    $page{$path} = $res->code == 200 ? $res->decoded_content // $res->content : undef;
}
my @shown = grep { defined $page{$_} } sort keys %page;
ok(@shown >= 3, 'server-status, /metrics and the PKI repository answer: ' . join(' ', @shown))
    or diag(join ' ', map { "$_=" . (defined $page{$_} ? 'ok' : 'no') } sort keys %page);
my @reveal = map { my @l = leaks($page{$_}); @l ? "$_: @l" : () } @shown;
ok(!@reveal, 'none of them reveals a secret, a key or a signature') or diag(join "\n", @reveal);
my @private = grep { $page{$_} =~ /"_(Csr|Certificate|CertificateChain|Tags|Policy|Permissions|Crl)"/ } @shown;
ok(!@private, 'nor a private member of a CA document') or diag("@private");

# After everything above ran (t/api, then t/client), the server's error_log
# shows no crashed child and no secret: no access key secret, no KEK, no private
# key, no request body of a CSR (STYLE.md §7). Runs last.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use MIME::Base64 qw(encode_base64);

plan tests => 6, need_module('acmpca');

my $log_file = Apache::Test::vars('t_logs') . '/error_log';
my $log = -e $log_file ? read_file($log_file) : '';
ok(length $log, 'the error_log exists');

my @crash = grep { /AH00052|exit signal|Segmentation fault|AH00051|double free|stack smashing/ } split /\n/, $log;
ok(!@crash, 'no httpd child crashed') or diag(join "\n", @crash[0 .. ($#crash < 9 ? $#crash : 9)]);

my $c = credentials();
unlike($log, qr/\Q$c->{SecretAccessKey}\E/, 'the secret access key is never logged');

my $kek = read_file(Apache::Test::vars('acmpca_kek'));
my $hex = unpack 'H*', $kek;
my $b64 = encode_base64($kek, '');
ok(index(lc $log, $hex) < 0 && index($log, $b64) < 0 && index($log, $kek) < 0, 'the KEK is never logged');
unlike($log, qr/PRIVATE KEY/, 'no private key is logged');
unlike($log, qr/BEGIN CERTIFICATE REQUEST|LS0tLS1CRUdJTi/, 'no CSR or base64 PEM body is logged');

# GetCertificateAuthorityCertificate (PCA-API.md §5.8, §4.1): the imported
# certificate as PEM; CertificateChain absent for a ROOT, the imported chain for a
# SUBORDINATE; InvalidStateException before import and once DELETED.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 12, need_module('acmpca');

sub get_ca_cert { api(GetCertificateAuthorityCertificate => { CertificateAuthorityArn => $_[0] // '' }) }

my $pending = create_ca();
my(undef, undef, $res) = get_ca_cert($pending);
is_aws_error($res, 400, 'InvalidStateException', undef, 'PENDING_CERTIFICATE -> InvalidStateException');

my $R = make_root_active(key => 'RSA_2048', cn => uniq('GetCACert Root'));
my($st, $j);
($st, $j, $res) = get_ca_cert($R && $R->{arn});
ok(is_api_ok($res, 'an ACTIVE ROOT answers') && nl($j->{Certificate}) eq nl($R->{cert}), 'Certificate is the imported certificate');
like($j->{Certificate} // '', qr/\A-----BEGIN CERTIFICATE-----\n/, 'as a PEM string');
ok(!exists $j->{CertificateChain}, 'no CertificateChain for a ROOT');

my $S = make_sub_active($R, key => 'EC_prime256v1', cn => uniq('GetCACert Sub'));
($st, $j, $res) = get_ca_cert($S && $S->{arn});
ok($st == 200 && nl($j->{Certificate}) eq nl($S->{cert}), 'a SUBORDINATE: Certificate is the imported certificate');
is(nl($j->{CertificateChain}), nl($S ? $S->{chain} : 'x'), 'CertificateChain is the imported chain');
is(nl($j->{CertificateChain}), nl($R ? $R->{cert} : 'x'), '... which is the root certificate');

api(UpdateCertificateAuthority => { CertificateAuthorityArn => $S ? $S->{arn} : '', Status => 'DISABLED' });
($st, $j, $res) = get_ca_cert($S && $S->{arn});
is_api_ok($res, 'a DISABLED CA still answers');

api(DeleteCertificateAuthority => { CertificateAuthorityArn => $S ? $S->{arn} : '', PermanentDeletionTimeInDays => 7 });
($st, $j, $res) = get_ca_cert($S && $S->{arn});
is_aws_error($res, 400, 'InvalidStateException', undef, 'DELETED -> InvalidStateException');
api(RestoreCertificateAuthority => { CertificateAuthorityArn => $S ? $S->{arn} : '' });
($st, $j, $res) = get_ca_cert($S && $S->{arn});
ok(is_api_ok($res, 'restored (DISABLED again): answers') && nl($j->{Certificate}) eq nl($S->{cert}), '... with the same certificate');

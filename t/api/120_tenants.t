# Accounts are tenants (issue 5, Build 4): another account neither lists nor
# touches a CA, in any operation, until the CA's resource policy shares it; a
# shared CA lets the other account issue end-entity certificates only;
# DeletePolicy takes the grant back; an explicit Deny wins, for the owner too.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Auth;

my @ca_ops = qw(DescribeCertificateAuthority GetCertificateAuthorityCsr GetCertificateAuthorityCertificate
                IssueCertificate ListTags TagCertificateAuthority UntagCertificateAuthority
                UpdateCertificateAuthority DeleteCertificateAuthority RestoreCertificateAuthority
                RevokeCertificate GetCertificate ListPermissions CreatePermission DeletePermission
                PutPolicy GetPolicy DeletePolicy);

plan tests => 2 + 4 + @ca_ops + 17, need_module('acmpca');

my $ca_a = active_root_as('A');
ok($ca_a, 'account A has an ACTIVE root CA');
my(undef, $jb) = call_as(B => CreateCertificateAuthority => {
    CertificateAuthorityType => 'ROOT', CertificateAuthorityConfiguration => ca_config(cn => uniq('root-B')) });
my $ca_b = $jb && $jb->{CertificateAuthorityArn};
ok($ca_b && $ca_b =~ /:222222222222:certificate-authority\//, 'account B has a CA of its own');

sub listed {
    my($who, %in) = @_;
    my(undef, $j) = call_as($who, ListCertificateAuthorities => { MaxResults => 1000, %in });
    return { map { $_->{Arn} => 1 } @{ ($j || {})->{CertificateAuthorities} || [] } };
}

# ---- nothing shared: each account lists only its own
{
    my $la = listed('A');
    ok($la->{$ca_a} && !$la->{$ca_b}, 'A lists its CA and not B\'s');
    my $lb = listed('B');
    ok($lb->{$ca_b} && !$lb->{$ca_a}, 'B lists its CA and not A\'s');
    ok(!listed('B', ResourceOwner => 'OTHER_ACCOUNTS')->{$ca_a}, 'B\'s OTHER_ACCOUNTS list is without A\'s CA');
    ok(!grep({ !/:111111111111:/ } keys %{ listed('A') }), 'every CA A lists is A\'s');
}

# ---- every CA-taking operation: B gets ResourceNotFoundException for A's CA
my $csr = ee_csr('tenant.example.com');
my %body = (
    IssueCertificate => { Csr => b64($csr), SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'DAYS', Value => 7 } },
    TagCertificateAuthority   => { Tags => [{ Key => 'k', Value => 'v' }] },
    UntagCertificateAuthority => { Tags => [{ Key => 'k' }] },
    UpdateCertificateAuthority => { Status => 'DISABLED' },
    RevokeCertificate => { CertificateSerial => '01', RevocationReason => 'UNSPECIFIED' },
    GetCertificate    => { CertificateArn => "$ca_a/certificate/01" },
    CreatePermission  => { Principal => 'acm.amazonaws.com', Actions => ['IssueCertificate'] },
    DeletePermission  => { Principal => 'acm.amazonaws.com' },
    PutPolicy => { Policy => '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"acm-pca:ListTags","Resource":"*"}]}' },
);
for my $op (@ca_ops) {
    my $arn_key = $op =~ /Policy$/ ? 'ResourceArn' : 'CertificateAuthorityArn';
    my(undef, $j, $res) = call_as(B => $op => { $arn_key => $ca_a, %{ $body{$op} || {} } });
  SKIP: {
        skip "$op is not implemented yet", 1 if $j && ($j->{__type} // '') eq 'UnknownOperationException';
        is_aws_error($res, 400, 'ResourceNotFoundException', qr/\Q$ca_a\E/, "B $op on A's CA: ResourceNotFoundException");
    }
}

# ---- A shares its CA with B (the policy of the Private CA User Guide, pca-rbp.html)
my $policy = json_encode({
    Version => '2012-10-17',
    Statement => [
        { Sid => 'Read', Effect => 'Allow', Principal => { AWS => '222222222222' },
          Action => [qw(acm-pca:DescribeCertificateAuthority acm-pca:GetCertificate
                        acm-pca:GetCertificateAuthorityCertificate acm-pca:ListPermissions acm-pca:ListTags)],
          Resource => $ca_a },
        { Sid => 'Issue', Effect => 'Allow', Principal => { AWS => 'arn:aws:iam::222222222222:root' },
          Action => 'acm-pca:IssueCertificate', Resource => $ca_a,
          Condition => { StringEquals => { 'acm-pca:TemplateArn' => 'arn:aws:acm-pca:::template/EndEntityCertificate/V1' } } },
    ] });
call_as_ok(A => PutPolicy => { ResourceArn => $ca_a, Policy => $policy }, 'A puts a resource policy sharing its CA with B');
{
    my(undef, $j) = call_as(A => GetPolicy => { ResourceArn => $ca_a });
    is($j && $j->{Policy}, $policy, 'GetPolicy returns the policy verbatim');

    my(undef, $d) = call_as(B => DescribeCertificateAuthority => { CertificateAuthorityArn => $ca_a });
    is($d && $d->{CertificateAuthority}{Arn}, $ca_a, 'B may describe A\'s CA now');
    ok(listed('B', ResourceOwner => 'OTHER_ACCOUNTS')->{$ca_a}, 'B\'s OTHER_ACCOUNTS list shows A\'s CA');
    ok(!listed('B')->{$ca_a}, '... and its SELF list still does not');

    my(undef, $i, $res) = call_as(B => IssueCertificate => { CertificateAuthorityArn => $ca_a, %{ $body{IssueCertificate} } });
    my $cert_arn = $i && $i->{CertificateArn};
    like($cert_arn // $res->content, qr/^\Q$ca_a\E\/certificate\/[0-9a-f]+$/, 'B issues an end-entity certificate with A\'s CA');
    my(undef, $g) = call_as(B => GetCertificate => { CertificateAuthorityArn => $ca_a, CertificateArn => $cert_arn // '' });
    ok($g && $g->{Certificate} && $g->{CertificateChain}, 'B gets it, with the chain');

    (undef, undef, $res) = call_as(B => IssueCertificate => { CertificateAuthorityArn => $ca_a, %{ $body{IssueCertificate} },
        TemplateArn => 'arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1' });
    is_aws_error($res, 400, 'AccessDeniedException', qr/not authorized to perform: acm-pca:IssueCertificate/,
                 'B with another template: AccessDeniedException');
    (undef, undef, $res) = call_as(B => IssueCertificate => { CertificateAuthorityArn => $ca_a, %{ $body{IssueCertificate} },
        TemplateArn => 'arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1' });
    is_aws_error($res, 400, 'AccessDeniedException', undef, 'B asking for a CA certificate: AccessDeniedException');
    (undef, undef, $res) = call_as(B => DeleteCertificateAuthority => { CertificateAuthorityArn => $ca_a });
    is_aws_error($res, 400, 'AccessDeniedException',
                 qr/^User: arn:aws:iam::222222222222:user\/bob is not authorized to perform: acm-pca:DeleteCertificateAuthority on resource: \Q$ca_a\E/,
                 'B may not delete A\'s CA: AccessDeniedException naming B and the action');
    (undef, undef, $res) = call_as(C => DescribeCertificateAuthority => { CertificateAuthorityArn => $ca_a });
    is_aws_error($res, 400, 'ResourceNotFoundException', undef, 'a third account still sees nothing');
}

# ---- DeletePolicy takes the grant back
call_as_ok(A => DeletePolicy => { ResourceArn => $ca_a }, 'A deletes the policy');
{
    my(undef, undef, $res) = call_as(B => IssueCertificate => { CertificateAuthorityArn => $ca_a, %{ $body{IssueCertificate} } });
    is_aws_error($res, 400, 'ResourceNotFoundException', undef, 'B can no longer issue');
    ok(!listed('B', ResourceOwner => 'OTHER_ACCOUNTS')->{$ca_a}, '... nor list the CA');
}

# ---- Deny beats Allow; the owner is bound by an explicit Deny too
{
    my $p = json_encode({ Version => '2012-10-17', Statement => [
        { Effect => 'Allow', Principal => { AWS => '222222222222' }, Action => 'acm-pca:*', Resource => '*' },
        { Effect => 'Deny', Principal => { AWS => '222222222222' }, Action => 'acm-pca:IssueCertificate', Resource => '*' },
        { Effect => 'Deny', Principal => { AWS => '111111111111' }, Action => 'acm-pca:TagCertificateAuthority', Resource => $ca_a },
    ] });
    call_as_ok(A => PutPolicy => { ResourceArn => $ca_a, Policy => $p }, 'A puts a policy with Allow and Deny');
    my(undef, undef, $res) = call_as(B => IssueCertificate => { CertificateAuthorityArn => $ca_a, %{ $body{IssueCertificate} } });
    is_aws_error($res, 400, 'AccessDeniedException', qr/explicit deny in a resource-based policy/, 'Deny beats Allow for B');
    (undef, undef, $res) = call_as(A => TagCertificateAuthority => { CertificateAuthorityArn => $ca_a, Tags => [{ Key => 'k', Value => 'v' }] });
    is_aws_error($res, 400, 'AccessDeniedException', qr/explicit deny in a resource-based policy/, 'the owner is denied by its own policy');
}

# CreatePermission, ListPermissions, DeletePermission (PCA-API.md §5.15-5.17,
# §4.1) with every error they model: PermissionAlreadyExistsException,
# LimitExceededException, ResourceNotFoundException, InvalidArnException,
# InvalidStateException, InvalidNextTokenException, ValidationException.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 27, need_module('acmpca');

my $ca = create_ca(type => 'ROOT');
ok($ca, 'a CA to work on');
my $missing = 'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/00000000-0000-4000-8000-000000000000';
my @all = qw(IssueCertificate GetCertificate ListPermissions);

sub create { my(undef, undef, $res) = api(CreatePermission => { CertificateAuthorityArn => $ca, Principal => 'acm.amazonaws.com', @_ }); $res }

# ---- the round trip
is_api_ok(create(Actions => \@all), 'CreatePermission for acm.amazonaws.com (SourceAccount: the caller)');
is_api_ok(create(Actions => ['GetCertificate'], SourceAccount => '210987654321'), 'another one for another SourceAccount');
{
    my(undef, $j) = api(ListPermissions => { CertificateAuthorityArn => $ca });
    my @p = @{ ($j || {})->{Permissions} || [] };
    is(scalar @p, 2, 'ListPermissions shows both');
    my($mine) = grep { $_->{SourceAccount} eq '123456789012' } @p;
    is_deeply($mine && [sort @{ $mine->{Actions} }], [sort @all], '... with their actions');
    ok($mine && $mine->{CertificateAuthorityArn} eq $ca && $mine->{Principal} eq 'acm.amazonaws.com'
       && $mine->{CreatedAt} =~ /^\d+(\.\d+)?$/ && $mine->{CreatedAt} > time - 300, '... CA, principal and CreatedAt (epoch seconds)');
    my $pol = $mine && json_decode($mine->{Policy});
    ok($pol && $pol->{Statement}[0]{Principal}{Service} eq 'acm.amazonaws.com'
       && $pol->{Statement}[0]{Resource} eq $ca
       && $pol->{Statement}[0]{Condition}{StringEquals}{'aws:SourceAccount'} eq '123456789012',
       '... and Policy, the resource policy it amounts to') or diag($mine && $mine->{Policy});

    (undef, $j) = api(ListPermissions => { CertificateAuthorityArn => $ca, MaxResults => 1 });
    my $next = $j && $j->{NextToken};
    ok($next && @{ $j->{Permissions} } == 1, 'MaxResults 1: one permission and a NextToken');
    (undef, $j) = api(ListPermissions => { CertificateAuthorityArn => $ca, MaxResults => 1, NextToken => $next // 'x' });
    ok($j && @{ $j->{Permissions} || [] } == 1 && !$j->{NextToken}, '... the second page ends the list');
    my(undef, undef, $res) = api(ListPermissions => { CertificateAuthorityArn => $ca, NextToken => 'bm90IG91cnM=' });
    is_aws_error($res, 400, 'InvalidNextTokenException', undef, 'a token that is not ours: InvalidNextTokenException');
}

# ---- CreatePermission errors
is_aws_error(create(Actions => ['IssueCertificate']), 400, 'PermissionAlreadyExistsException', undef,
             'the same principal and account again: PermissionAlreadyExistsException');
is_aws_error(create(Actions => ['IssueCertificate'], Principal => 'acm.example.com'), 400, 'ValidationException', qr/acm\.amazonaws\.com/,
             'a principal other than acm.amazonaws.com: ValidationException');
is_aws_error(create(Actions => ['RevokeCertificate']), 400, 'ValidationException', undef, 'an action outside the enum: ValidationException');
is_aws_error(create(Actions => []), 400, 'ValidationException', undef, 'no actions: ValidationException');
is_aws_error(create(Actions => [@all, 'GetCertificate']), 400, 'ValidationException', undef, 'four actions: ValidationException');
is_aws_error(create(Actions => ['GetCertificate'], SourceAccount => '1234'), 400, 'ValidationException', undef,
             'a SourceAccount of 4 digits: ValidationException');
{
    my($n, $res) = (0);
    for my $i (1 .. 60) {
        $res = create(Actions => ['GetCertificate'], SourceAccount => sprintf('3000000000%02d', $i));
        last if $res->code != 200;
        $n++;
    }
    is_aws_error($res, 400, 'LimitExceededException', undef, "past the limit ($n more accepted): LimitExceededException");
}
{
    my(undef, undef, $res) = api(CreatePermission => { CertificateAuthorityArn => $missing, Principal => 'acm.amazonaws.com', Actions => \@all });
    is_aws_error($res, 400, 'ResourceNotFoundException', undef, 'CreatePermission on an unknown CA');
    (undef, undef, $res) = api(CreatePermission => { CertificateAuthorityArn => "$ca/certificate/0a", Principal => 'acm.amazonaws.com', Actions => \@all });
    is_aws_error($res, 400, 'InvalidArnException', undef, 'CreatePermission with a certificate ARN');
}

# ---- DeletePermission
{
    my(undef, undef, $res) = api(DeletePermission => { CertificateAuthorityArn => $ca, Principal => 'acm.amazonaws.com', SourceAccount => '210987654321' });
    is_api_ok($res, 'DeletePermission');
    (undef, undef, $res) = api(DeletePermission => { CertificateAuthorityArn => $ca, Principal => 'acm.amazonaws.com', SourceAccount => '210987654321' });
    is_aws_error($res, 400, 'ResourceNotFoundException', undef, 'again: ResourceNotFoundException');
    (undef, undef, $res) = api(DeletePermission => { CertificateAuthorityArn => $missing, Principal => 'acm.amazonaws.com' });
    is_aws_error($res, 400, 'ResourceNotFoundException', undef, 'DeletePermission on an unknown CA');
    (undef, undef, $res) = api(ListPermissions => { CertificateAuthorityArn => "$ca/certificate/0a" });
    is_aws_error($res, 400, 'InvalidArnException', undef, 'ListPermissions with a certificate ARN');
}

# ---- DELETED: InvalidStateException (§4.1)
{
    my(undef, undef, $res) = api(DeleteCertificateAuthority => { CertificateAuthorityArn => $ca });
    ok($res->code == 200, 'the CA is deleted') or diag($res->content);
    is_aws_error(create(Actions => ['GetCertificate'], SourceAccount => '210987654322'), 400, 'InvalidStateException', undef,
                 'CreatePermission on a DELETED CA');
    (undef, undef, $res) = api(ListPermissions => { CertificateAuthorityArn => $ca });
    is_aws_error($res, 400, 'InvalidStateException', undef, 'ListPermissions on a DELETED CA');
    (undef, undef, $res) = api(DeletePermission => { CertificateAuthorityArn => $ca, Principal => 'acm.amazonaws.com' });
    is_aws_error($res, 400, 'InvalidStateException', undef, 'DeletePermission on a DELETED CA');
}
